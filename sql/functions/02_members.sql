-- 02_members.sql - the write tools as members of a group commit.
--
-- A worker sends the writes that piled up while its connection was busy as
-- one pipelined transaction (one commit, one WAL flush for all of them).
-- Each member runs through one of these wrappers: its BEGIN ... EXCEPTION
-- block is a subtransaction, so a member that fails (not found, invalid
-- state, a constraint, a lock timeout, a deadlock) is rolled back alone and
-- its error is returned as data instead of raised; the other members and
-- the commit go on. Parameters arrive as text and are cast inside the
-- block, so even a bad cast stays the member's own error.
-- Each returns (result, err_state, err_message, err_detail): result is the tool's
-- JSON on success, else NULL with the error fields set.
--
-- The wrappers are not written out: mcp_make_members() generates
-- mcp_try_<tool> from mcp_<tool>'s own parameter list, and `migrate` calls
-- it after applying these files on every run (server/migrate.c), so a tool
-- function's signature is stated once, in its own definition.

CREATE OR REPLACE FUNCTION mcp_member_error(OUT result jsonb, OUT err_state text, OUT err_message text,
                                 OUT err_detail text, p_state text, p_message text, p_detail text)
LANGUAGE sql IMMUTABLE AS $$ SELECT NULL::jsonb, p_state, p_message, NULLIF(p_detail, '') $$;

-- mcp_try_<p_tool>(p1 text, ..., pN text) calling mcp_<p_tool>(p1::type1, ...,
-- pN::typeN), its exceptions returned as data. The tool function must exist
-- once (one overload) and return jsonb; a wrapper of another arity (the tool
-- function's signature changed) is dropped first.
CREATE OR REPLACE FUNCTION mcp_make_member(p_tool text) RETURNS void LANGUAGE plpgsql AS $make$
DECLARE
	target regprocedure;
	params text;
	args text;
	old regprocedure;
BEGIN
	SELECT p.oid::regprocedure INTO STRICT target FROM pg_proc p
	 WHERE p.proname = 'mcp_' || p_tool AND p.pronamespace = 'public'::regnamespace
	   AND p.prorettype = 'jsonb'::regtype;
	-- character(n) would cast to character(1): pass text and let the call convert.
	SELECT string_agg(format('p%s text', a.i), ', ' ORDER BY a.i),
	       string_agg(format('p%s::%s', a.i, CASE WHEN a.t = 'bpchar'::regtype THEN 'text'
	                                              ELSE format_type(a.t, NULL) END), ', ' ORDER BY a.i)
	  INTO params, args
	  FROM pg_proc p, unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i)
	 WHERE p.oid = target;
	FOR old IN SELECT p.oid::regprocedure FROM pg_proc p
	            WHERE p.proname = 'mcp_try_' || p_tool AND p.pronamespace = 'public'::regnamespace
	              AND p.pronargs <> (SELECT pronargs FROM pg_proc WHERE oid = target) LOOP
		EXECUTE format('DROP FUNCTION %s', old);
	END LOOP;
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION mcp_try_%1$s(%2$s, OUT result jsonb, OUT err_state text,
                                       OUT err_message text, OUT err_detail text)
LANGUAGE plpgsql AS $b$
DECLARE
	v_state text; v_message text; v_detail text;
BEGIN
	result := mcp_%1$s(%3$s);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
	                        v_detail = PG_EXCEPTION_DETAIL;
	SELECT * INTO result, err_state, err_message, err_detail FROM mcp_member_error(v_state, v_message, v_detail);
END $b$$f$, p_tool, params, args);
	EXECUTE format('GRANT EXECUTE ON FUNCTION mcp_try_%s TO mcp_invoiced_app', p_tool);
END $make$;

-- Every write tool that runs as a group-commit member (the statements
-- worker/db/statements.c sends as mcp_try_*).
CREATE OR REPLACE FUNCTION mcp_make_members() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	tool text;
BEGIN
	FOREACH tool IN ARRAY ARRAY['create_invoice', 'update_invoice', 'send_invoice', 'void_invoice',
	                            'apply_payment', 'upsert_customer', 'upsert_tax_rate',
	                            'create_credit_note', 'apply_credit', 'reverse_payment',
	                            'upsert_business_profile'] LOOP
		PERFORM mcp_make_member(tool);
	END LOOP;
END $$;
