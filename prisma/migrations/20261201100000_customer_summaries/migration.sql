-- CreateTable
CREATE TABLE "customer_id_block" (
    "bucket" BIGINT NOT NULL,
    "slot" SMALLINT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "customer_id_block_pkey" PRIMARY KEY ("bucket","slot")
);

-- CreateTable
CREATE TABLE "customer_day" (
    "bucket" TIMESTAMPTZ(6) NOT NULL,
    "slot" SMALLINT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "customer_day_pkey" PRIMARY KEY ("bucket","slot")
);

-- Everything below is hand-written: Prisma's schema language has no CHECK
-- constraints or triggers, so `prisma migrate diff` neither emits nor sees it.

-- Row counts per bucket of an ordered column, so that a range count or a deep
-- page sums whole buckets here and reads only the edge buckets from the index
-- (src/resource/summary-sql.ts, which computes the buckets the same way):
--   customer_id_block: ids in blocks of 1000, bucket = the block's first id
--     (floor division, so negative ids work too);
--   customer_day: modified_date by UTC day, bucket = the day's midnight UTC.
-- A bucket's count is sum(n) over its slots.
--
-- Kept by statement-level triggers with transition tables, as customer_count
-- is: one INSERT … ON CONFLICT per statement and summary, grouped by bucket.
-- Striped like customer_version, with the same slot (pg_backend_pid() % 32):
-- writers on different slots never touch the same summary row, so concurrent
-- inserts into the last block (sequential ids) or updates moving rows into
-- today do not wait for each other here; writers that share a slot already
-- queue at customer_version's BEFORE trigger, before they lock any row here,
-- so they cannot deadlock over summary rows either. A slot's n may go negative
-- (rows inserted on one backend, deleted on another); only the sum is a count.
ALTER TABLE "customer_id_block" ADD CONSTRAINT "customer_id_block_slot_range" CHECK ("slot" BETWEEN 0 AND 31);
ALTER TABLE "customer_day" ADD CONSTRAINT "customer_day_slot_range" CHECK ("slot" BETWEEN 0 AND 31);

CREATE FUNCTION "customer_id_block_of"(id bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT id - ((id % 1000) + 1000) % 1000 $$;

-- STABLE as date_trunc with a time zone is, though 'UTC' never changes.
CREATE FUNCTION "customer_day_of"(t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT date_trunc('day', t, 'UTC') $$;

CREATE FUNCTION "customer_summaries_inserted"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "customer_id_block" AS s ("bucket", "slot", "n")
        SELECT "customer_id_block_of"("id"), pg_backend_pid() % 32, count(*) FROM inserted_rows GROUP BY 1 ORDER BY 1
        ON CONFLICT ("bucket", "slot") DO UPDATE SET "n" = s."n" + EXCLUDED."n";
    INSERT INTO "customer_day" AS s ("bucket", "slot", "n")
        SELECT "customer_day_of"("modified_date"), pg_backend_pid() % 32, count(*) FROM inserted_rows GROUP BY 1 ORDER BY 1
        ON CONFLICT ("bucket", "slot") DO UPDATE SET "n" = s."n" + EXCLUDED."n";
    RETURN NULL;
END;
$$;

CREATE FUNCTION "customer_summaries_deleted"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "customer_id_block" AS s ("bucket", "slot", "n")
        SELECT "customer_id_block_of"("id"), pg_backend_pid() % 32, -count(*) FROM deleted_rows GROUP BY 1 ORDER BY 1
        ON CONFLICT ("bucket", "slot") DO UPDATE SET "n" = s."n" + EXCLUDED."n";
    INSERT INTO "customer_day" AS s ("bucket", "slot", "n")
        SELECT "customer_day_of"("modified_date"), pg_backend_pid() % 32, -count(*) FROM deleted_rows GROUP BY 1 ORDER BY 1
        ON CONFLICT ("bucket", "slot") DO UPDATE SET "n" = s."n" + EXCLUDED."n";
    RETURN NULL;
END;
$$;

-- An UPDATE moves rows between buckets: modified_date to today (the touch
-- trigger), or anywhere when the importer keeps its timestamps, or an id
-- rewritten by hand. Buckets whose rows only changed in place are left alone.
CREATE FUNCTION "customer_summaries_updated"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "customer_id_block" AS s ("bucket", "slot", "n")
        SELECT b, pg_backend_pid() % 32, sum(d) FROM (
            SELECT "customer_id_block_of"("id") AS b, -1 AS d FROM old_rows
            UNION ALL SELECT "customer_id_block_of"("id"), 1 FROM new_rows
        ) moved GROUP BY b HAVING sum(d) <> 0 ORDER BY b
        ON CONFLICT ("bucket", "slot") DO UPDATE SET "n" = s."n" + EXCLUDED."n";
    INSERT INTO "customer_day" AS s ("bucket", "slot", "n")
        SELECT b, pg_backend_pid() % 32, sum(d) FROM (
            SELECT "customer_day_of"("modified_date") AS b, -1 AS d FROM old_rows
            UNION ALL SELECT "customer_day_of"("modified_date"), 1 FROM new_rows
        ) moved GROUP BY b HAVING sum(d) <> 0 ORDER BY b
        ON CONFLICT ("bucket", "slot") DO UPDATE SET "n" = s."n" + EXCLUDED."n";
    RETURN NULL;
END;
$$;

CREATE FUNCTION "customer_summaries_reset"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "customer_id_block";
    DELETE FROM "customer_day";
    RETURN NULL;
END;
$$;

CREATE TRIGGER "customer_summaries_insert"
    AFTER INSERT ON "customer"
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION "customer_summaries_inserted"();

CREATE TRIGGER "customer_summaries_update"
    AFTER UPDATE ON "customer"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION "customer_summaries_updated"();

CREATE TRIGGER "customer_summaries_delete"
    AFTER DELETE ON "customer"
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION "customer_summaries_deleted"();

CREATE TRIGGER "customer_summaries_truncate"
    AFTER TRUNCATE ON "customer"
    FOR EACH STATEMENT EXECUTE FUNCTION "customer_summaries_reset"();

-- Counted after the triggers exist, as customer_count was: CREATE TRIGGER holds
-- SHARE ROW EXCLUSIVE on customer until this migration commits, so no write is
-- missed or counted twice.
INSERT INTO "customer_id_block" ("bucket", "slot", "n")
    SELECT "customer_id_block_of"("id"), 0, count(*) FROM "customer" GROUP BY 1;
INSERT INTO "customer_day" ("bucket", "slot", "n")
    SELECT "customer_day_of"("modified_date"), 0, count(*) FROM "customer" GROUP BY 1;
