-- One-time challenges for USB-token signatures (one verification attempt each) and remote-signing
-- transactions (SIM through the MSSP, SmartCA). No personal data: the phone or SmartCA user id is
-- never stored here, only the provider's transaction id and, once signed, the certificate chain.
CREATE TABLE challenges (
  challenge_id UUID        PRIMARY KEY,
  flow_id      TEXT        NOT NULL,
  purpose      SMALLINT    NOT NULL CHECK (purpose BETWEEN 1 AND 3),
  challenge    TEXT        NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at   TIMESTAMPTZ NOT NULL,
  used_at      TIMESTAMPTZ
);
CREATE INDEX challenges_expires_idx ON challenges (expires_at);

CREATE TABLE remote_signatures (
  transaction_id          UUID        PRIMARY KEY,
  flow_id                 TEXT        NOT NULL,
  purpose                 SMALLINT    NOT NULL CHECK (purpose BETWEEN 1 AND 3),
  provider                SMALLINT    NOT NULL CHECK (provider BETWEEN 1 AND 2),
  challenge               TEXT        NOT NULL,
  provider_transaction_id TEXT        NOT NULL,
  start_chain             TEXT        NOT NULL DEFAULT '',  -- base64 DER, comma-separated
  state                   SMALLINT    NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
  result_chain            TEXT        NOT NULL DEFAULT '',
  failure_reason          TEXT        NOT NULL DEFAULT '',
  created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at              TIMESTAMPTZ NOT NULL,
  finished_at             TIMESTAMPTZ
);
CREATE INDEX remote_signatures_expires_idx ON remote_signatures (expires_at);
