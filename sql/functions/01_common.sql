-- 01_common.sql - what every tool function uses: the tenant a call acts
-- for (mcp_as_tenant), timestamps, the audit log, idempotency keys, currency
-- exponents and LIKE prefixes.

-- Every function in sql/functions is created or replaced by `migrate` on
-- every run (server/migrate.c), in file order, after the pending migrations
-- and in one transaction; see docs/database.md. A function a server
-- statement calls carries SET enable_seqscan = off in its own definition
-- (docs/database.md, "Plans that hold on day one").

-- The tenant a call acts for: row-level security's policies compare each
-- row's tenant_id with app.tenant_id. Set local to the transaction (a
-- group-commit batch runs its members' calls in one, each setting its own
-- tenant first); every tool function calls this first.
CREATE OR REPLACE FUNCTION mcp_as_tenant(p_tenant text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
END $$;

CREATE OR REPLACE FUNCTION mcp_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE OR REPLACE FUNCTION mcp_audit(p_tenant text, p_subject text, p_tool text, p_object text, p_request text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (tenant_id, subject, tool, object_id, request_id)
	VALUES (p_tenant, p_subject, p_tool, p_object, p_request);
END $$;

-- Claims (tenant, tool, key) for this transaction. Returns the stored
-- response of an earlier identical call, NULL when this call is the first,
-- and raises CONFLICT when the key was used with other arguments. A
-- concurrent first call holding the key makes this wait for its outcome.
CREATE OR REPLACE FUNCTION mcp_idempotency_claim(p_tenant text, p_tool text, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	h bytea := sha256(convert_to(p_args::text, 'UTF8'));
	prior idempotency_keys;
BEGIN
	IF p_key IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO idempotency_keys (tenant_id, tool, key, request_hash)
	VALUES (p_tenant, p_tool, p_key, h)
	ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO prior FROM idempotency_keys
	 WHERE tenant_id = p_tenant AND tool = p_tool AND key = p_key;
	IF prior.request_hash <> h THEN
		RAISE EXCEPTION 'idempotency_key "%" was already used with different arguments for %; use a new key for a new request',
			p_key, p_tool USING ERRCODE = 'MI409', DETAIL = 'idempotency_key';
	END IF;
	RETURN prior.response || '{"idempotent_replay": true}';
END $$;

CREATE OR REPLACE FUNCTION mcp_idempotency_store(p_tenant text, p_tool text, p_key text, p_response jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF p_key IS NOT NULL THEN
		UPDATE idempotency_keys SET response = p_response
		 WHERE tenant_id = p_tenant AND tool = p_tool AND key = p_key;
	END IF;
END $$;

-- Keys are kept 7 days (the contract promises at least 24 hours).
CREATE OR REPLACE FUNCTION mcp_expire_idempotency_keys() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public SET enable_seqscan = off AS $$
	WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - interval '7 days' RETURNING 1)
	SELECT count(*) FROM gone
$$;

-- ISO 4217 minor units (server/lib/currency.c holds the same table; the
-- codes not listed have 2).
CREATE OR REPLACE FUNCTION mcp_currency_exponent(p_currency text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG',
	                                'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 0
	            WHEN p_currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3
	            WHEN p_currency IN ('CLF', 'UYW') THEN 4 ELSE 2 END
$$;

-- A LIKE pattern matching strings that start with p (wildcards escaped).
CREATE OR REPLACE FUNCTION mcp_prefix_pattern(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT replace(replace(replace(p, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;
