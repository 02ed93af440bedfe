-- CreateTable
CREATE TABLE "channel" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "omnitron_id" INTEGER,
    "channel_type" VARCHAR(64),
    "is_active" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "channel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "customer" (
    "id" SERIAL NOT NULL,
    "created_date" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "modified_date" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "omnitron_id" INTEGER NOT NULL,
    "email" VARCHAR(254) NOT NULL,
    "first_name" VARCHAR(255) NOT NULL DEFAULT '',
    "last_name" VARCHAR(255) NOT NULL DEFAULT '',
    "phone_number" VARCHAR(128),
    "erp_code" VARCHAR(64),
    "channel_id" INTEGER,

    CONSTRAINT "customer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_user" (
    "id" SERIAL NOT NULL,
    "username" VARCHAR(150) NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_token" (
    "id" SERIAL NOT NULL,
    "key_hash" CHAR(64) NOT NULL,
    "user_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "customer_email_id_idx" ON "customer"("email", "id");

-- CreateIndex
CREATE INDEX "customer_first_name_id_idx" ON "customer"("first_name", "id");

-- CreateIndex
CREATE INDEX "customer_last_name_id_idx" ON "customer"("last_name", "id");

-- CreateIndex
CREATE INDEX "customer_phone_number_id_idx" ON "customer"("phone_number", "id");

-- CreateIndex
CREATE INDEX "customer_erp_code_id_idx" ON "customer"("erp_code", "id");

-- CreateIndex
CREATE INDEX "customer_channel_id_id_idx" ON "customer"("channel_id", "id");

-- CreateIndex
CREATE INDEX "customer_modified_date_id_idx" ON "customer"("modified_date", "id");

-- CreateIndex
CREATE UNIQUE INDEX "api_user_username_key" ON "api_user"("username");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_key_hash_key" ON "api_token"("key_hash");

-- CreateIndex
CREATE INDEX "api_token_user_id_idx" ON "api_token"("user_id");

-- AddForeignKey
ALTER TABLE "customer" ADD CONSTRAINT "customer_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "channel"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_token" ADD CONSTRAINT "api_token_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "api_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
