SET client_min_messages = warning;
-- FerretDB 1.24 pushes an equality filter down to PostgreSQL as `_jsonb -> 'field' @> value`,
-- while the indexes it creates are btree indexes on `(_jsonb -> 'field')`, which cannot serve
-- `@>`: every query, `_id` lookups included, scans its whole table. This event trigger gives
-- every btree index FerretDB creates a GIN twin on the same expressions, which can. Semantics
-- do not change (uniqueness still comes from FerretDB's own unique btree indexes); only speed.
-- Idempotent: scripts/db.sh applies it at every start and backfills existing indexes.

CREATE OR REPLACE FUNCTION procstate_gin_twin(index_oid oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  idx record;
  expression text;
  twin text;
  column_number int;
BEGIN
  SELECT i.indexrelid, i.indrelid, i.indnatts, c.relname AS index_name, t.relname AS table_name, n.nspname AS schema_name, am.amname
    INTO idx
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = c.relam
   WHERE i.indexrelid = index_oid;
  IF NOT FOUND OR idx.amname <> 'btree' OR idx.table_name LIKE '\_ferretdb\_%' THEN
    RETURN;
  END IF;
  FOR column_number IN 1 .. idx.indnatts LOOP
    expression := pg_get_indexdef(idx.indexrelid, column_number, true);
    CONTINUE WHEN expression NOT LIKE '(_jsonb %';
    twin := left(idx.index_name, 55) || '_gin' || column_number;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin (%s)', twin, idx.schema_name, idx.table_name, expression);
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION procstate_gin_twin_trigger() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  command record;
BEGIN
  FOR command IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' LOOP
    PERFORM procstate_gin_twin(command.objid);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS procstate_gin_twin;
CREATE EVENT TRIGGER procstate_gin_twin ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION procstate_gin_twin_trigger();

-- Backfill indexes created before the trigger existed.
DO $$
DECLARE
  existing record;
BEGIN
  FOR existing IN
    SELECT i.indexrelid FROM pg_index i
      JOIN pg_class t ON t.oid = i.indrelid
     WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = '_jsonb')
  LOOP
    PERFORM procstate_gin_twin(existing.indexrelid);
  END LOOP;
END $$;
