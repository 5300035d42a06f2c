-- What FerretDB v1.24 on PostgreSQL needs for its queries to be served by
-- indexes. Apply it (as a superuser) to FerretDB's database; it is
-- idempotent, and scripts/lib.sh (start_postgres) applies it at every start.
--
-- FerretDB pushes a top-level equality filter {f: v} down as
--     WHERE _jsonb->$1 @> $2        ($1 = 'f', $2 = v as JSON)
-- (internal/backends/postgresql/query.go), through pgx's statement cache.
--
-- 1. Its own indexes are btree on (_jsonb -> 'f'), ..., and a btree never
--    serves @>. A GIN jsonb_path_ops index on the same expression does, so
--    the first key of every such btree index gets a GIN twin (event
--    trigger below).
--    fastupdate = off: with GIN's pending list on, a lookup after a bulk
--    insert took 10 ms instead of 0.05 ms until a vacuum merged the list.
--
-- 2. The field name is a parameter, so a generic plan, which pgx's cached
--    statements switch to after 5 executions, can never match an
--    expression index: every query then scans the table (20 ms per _id
--    lookup on 20,000 documents, GIN or not). Custom plans see the field
--    name and use the index (0.3 ms).

DO $$
BEGIN
	EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan',
	    current_database());
END $$;

-- lnk_gin_twin_of(index): if the index is a btree whose first key is
-- (_jsonb -> 'field'), create its GIN twin on the same table. Several
-- btree indexes with the same first key share one twin. Anything else
-- (the GIN twins themselves included) is left alone, so the trigger does
-- not recurse.
CREATE OR REPLACE FUNCTION lnk_gin_twin_of(idx oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	nsp name; tbl name; am name; expr text; nm text;
BEGIN
	SELECT n.nspname, t.relname, a.amname, pg_get_indexdef(i.indexrelid, 1, true)
	  INTO nsp, tbl, am, expr
	  FROM pg_index i
	  JOIN pg_class c ON c.oid = i.indexrelid
	  JOIN pg_am a ON a.oid = c.relam
	  JOIN pg_class t ON t.oid = i.indrelid
	  JOIN pg_namespace n ON n.oid = t.relnamespace
	 WHERE i.indexrelid = idx;
	IF am IS DISTINCT FROM 'btree' OR left(expr, 10) <> '(_jsonb ->'
	    OR tbl LIKE '\_ferretdb\_%' THEN
		RETURN;
	END IF;
	-- A stable name under 63 bytes, unique per table and expression.
	nm := left(tbl, 40);
	WHILE octet_length(nm) > 40 LOOP
		nm := left(nm, -1);
	END LOOP;
	nm := nm || '_' || left(md5(tbl || ' ' || expr), 12) || '_gin';
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((%s) jsonb_path_ops) '
	    'WITH (fastupdate = off)', nm, nsp, tbl, expr);
END $$;

CREATE OR REPLACE FUNCTION lnk_gin_twin() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands()
	    WHERE command_tag = 'CREATE INDEX' LOOP
		PERFORM lnk_gin_twin_of(r.objid);
	END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS lnk_gin_twin;
CREATE EVENT TRIGGER lnk_gin_twin ON ddl_command_end
    WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION lnk_gin_twin();

-- When FerretDB drops an index (dropIndexes), drop the twins in that
-- schema that no btree index needs any more. (Dropping a collection
-- drops its table, and the twins with it.)
CREATE OR REPLACE FUNCTION lnk_gin_twin_gc() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT n.nspname, c.relname
		  FROM pg_index i
		  JOIN pg_class c ON c.oid = i.indexrelid
		  JOIN pg_am a ON a.oid = c.relam
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE a.amname = 'gin' AND c.relname LIKE '%\_gin'
		   AND n.nspname IN (SELECT schema_name FROM pg_event_trigger_dropped_objects()
		                      WHERE object_type = 'index')
		   AND left(pg_get_indexdef(i.indexrelid, 1, true), 10) = '(_jsonb ->'
		   AND NOT EXISTS (
			SELECT 1
			  FROM pg_index b
			  JOIN pg_class bc ON bc.oid = b.indexrelid
			  JOIN pg_am ba ON ba.oid = bc.relam
			 WHERE b.indrelid = i.indrelid AND ba.amname = 'btree'
			   AND pg_get_indexdef(b.indexrelid, 1, true) =
			       pg_get_indexdef(i.indexrelid, 1, true))
	LOOP
		EXECUTE format('DROP INDEX IF EXISTS %I.%I', r.nspname, r.relname);
	END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS lnk_gin_twin_gc;
CREATE EVENT TRIGGER lnk_gin_twin_gc ON sql_drop
    WHEN TAG IN ('DROP INDEX') EXECUTE FUNCTION lnk_gin_twin_gc();

-- Twins for the indexes that exist already (a data directory from before
-- this file, or one it was not applied to).
DO $$
BEGIN
	PERFORM lnk_gin_twin_of(i.indexrelid)
	   FROM pg_index i
	   JOIN pg_class t ON t.oid = i.indrelid
	   JOIN pg_namespace n ON n.oid = t.relnamespace
	  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast');
END $$;
