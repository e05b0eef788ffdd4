-- 0004_batch_members.sql - the write tools as members of a group commit.
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

CREATE FUNCTION mcp_member_error(OUT result jsonb, OUT err_state text, OUT err_message text,
                                 OUT err_detail text, p_state text, p_message text, p_detail text)
LANGUAGE sql IMMUTABLE AS $$ SELECT NULL::jsonb, p_state, p_message, NULLIF(p_detail, '') $$;

CREATE FUNCTION mcp_try_create_invoice(p_tenant text, p_subject text, p_request text,
                                       p_customer text, p_currency text, p_due_date text,
                                       p_memo text, p_items text, p_key text, p_args text,
                                       OUT result jsonb, OUT err_state text, OUT err_message text,
                                       OUT err_detail text)
LANGUAGE plpgsql AS $$
DECLARE
	v_state text; v_message text; v_detail text;
BEGIN
	result := mcp_create_invoice(p_tenant, p_subject, p_request, p_customer, p_currency,
	                             p_due_date::date, p_memo, p_items::jsonb, p_key, p_args::jsonb);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
	                        v_detail = PG_EXCEPTION_DETAIL;
	SELECT * INTO result, err_state, err_message, err_detail FROM mcp_member_error(v_state, v_message, v_detail);
END $$;

CREATE FUNCTION mcp_try_send_invoice(p_tenant text, p_subject text, p_request text, p_invoice text,
                                     OUT result jsonb, OUT err_state text, OUT err_message text,
                                     OUT err_detail text)
LANGUAGE plpgsql AS $$
DECLARE
	v_state text; v_message text; v_detail text;
BEGIN
	result := mcp_send_invoice(p_tenant, p_subject, p_request, p_invoice::uuid);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
	                        v_detail = PG_EXCEPTION_DETAIL;
	SELECT * INTO result, err_state, err_message, err_detail FROM mcp_member_error(v_state, v_message, v_detail);
END $$;

CREATE FUNCTION mcp_try_void_invoice(p_tenant text, p_subject text, p_request text, p_invoice text,
                                     p_reason text,
                                     OUT result jsonb, OUT err_state text, OUT err_message text,
                                     OUT err_detail text)
LANGUAGE plpgsql AS $$
DECLARE
	v_state text; v_message text; v_detail text;
BEGIN
	result := mcp_void_invoice(p_tenant, p_subject, p_request, p_invoice::uuid, p_reason);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
	                        v_detail = PG_EXCEPTION_DETAIL;
	SELECT * INTO result, err_state, err_message, err_detail FROM mcp_member_error(v_state, v_message, v_detail);
END $$;

CREATE FUNCTION mcp_try_apply_payment(p_tenant text, p_subject text, p_request text, p_invoice text,
                                      p_amount text, p_paid_at text, p_method text,
                                      p_reference text, p_key text, p_args text,
                                      OUT result jsonb, OUT err_state text, OUT err_message text,
                                      OUT err_detail text)
LANGUAGE plpgsql AS $$
DECLARE
	v_state text; v_message text; v_detail text;
BEGIN
	result := mcp_apply_payment(p_tenant, p_subject, p_request, p_invoice::uuid, p_amount::bigint,
	                            p_paid_at::timestamptz, p_method, p_reference, p_key, p_args::jsonb);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
	                        v_detail = PG_EXCEPTION_DETAIL;
	SELECT * INTO result, err_state, err_message, err_detail FROM mcp_member_error(v_state, v_message, v_detail);
END $$;

CREATE FUNCTION mcp_try_upsert_customer(p_tenant text, p_subject text, p_request text,
                                        p_customer text, p_name text, p_email text, p_address text,
                                        p_vat_id text, p_einvoice text,
                                        OUT result jsonb, OUT err_state text, OUT err_message text,
                                        OUT err_detail text)
LANGUAGE plpgsql AS $$
DECLARE
	v_state text; v_message text; v_detail text;
BEGIN
	result := mcp_upsert_customer(p_tenant, p_subject, p_request, p_customer, p_name, p_email,
	                              p_address, p_vat_id, p_einvoice::jsonb);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
	                        v_detail = PG_EXCEPTION_DETAIL;
	SELECT * INTO result, err_state, err_message, err_detail FROM mcp_member_error(v_state, v_message, v_detail);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO mcp_invoiced_app;
