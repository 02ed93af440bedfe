-- CreateTable
CREATE TABLE "customer_version" (
    "slot" SMALLINT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "customer_version_pkey" PRIMARY KEY ("slot")
);

-- Everything below is hand-written: Prisma's schema language has no CHECK
-- constraints or triggers, so `prisma migrate diff` neither emits nor sees it.

-- The data version of customer: sum(n) over the 32 slots counts the committed
-- statements that wrote to the table. A reader sums it in one statement, so
-- the sum belongs to one snapshot; later snapshots only gain commits, so an
-- equal sum means the same committed writes, and any committed INSERT, UPDATE,
-- DELETE, TRUNCATE or COPY makes it larger. Conditional GET (ETags) reads it
-- instead of the customer table; count caches can key on it.
--
-- Striped rather than one hot row: a statement bumps the slot of its backend
-- (pg_backend_pid() % 32) and holds that row's lock until commit, so writers on
-- different connections rarely wait for each other, and a transaction, which
-- runs on one backend, only ever takes one slot.
--
-- BEFORE, not AFTER, the statement: a transaction takes its slot before it
-- locks any customer row (and before the customer_count row), so two writers
-- that share a slot queue at their first write instead of deadlocking over
-- rows each has already updated. The price: a statement is counted even when
-- it writes no row (a DELETE matching nothing), which only costs clients a 200
-- where a 304 would have done.
ALTER TABLE "customer_version" ADD CONSTRAINT "customer_version_slot_range" CHECK ("slot" BETWEEN 0 AND 31);

INSERT INTO "customer_version" ("slot", "n") SELECT slot, 0 FROM generate_series(0, 31) AS slot;

CREATE FUNCTION "customer_version_bump"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "customer_version" SET "n" = "n" + 1 WHERE "slot" = pg_backend_pid() % 32;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "customer_version_bump"
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "customer"
    FOR EACH STATEMENT EXECUTE FUNCTION "customer_version_bump"();
