-- One row per provider attempt made by the identity-verification gateway. Deliberately no
-- personal data: no phone, ID number, name or date of birth; the request id links a row to the
-- caller's logs.
CREATE TABLE lookup_audit (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id  TEXT        NOT NULL CHECK (length(request_id) <= 64),
  provider    TEXT        NOT NULL,
  operation   TEXT        NOT NULL,
  outcome     TEXT        NOT NULL,
  attempt     SMALLINT    NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  latency_ms  INTEGER     NOT NULL CHECK (latency_ms >= 0),
  at          TIMESTAMPTZ NOT NULL
);

CREATE INDEX lookup_audit_at_idx ON lookup_audit (at);
CREATE INDEX lookup_audit_provider_at_idx ON lookup_audit (provider, at);
