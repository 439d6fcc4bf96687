-- Accounts: the system of record. Personal data is stored sealed (AES-256-GCM, key id prefixed)
-- and looked up through keyed blind indexes (HMAC-SHA256), never in clear (X-3).
CREATE TABLE accounts (
  account_id          UUID PRIMARY KEY,
  subject_kind        SMALLINT    NOT NULL CHECK (subject_kind BETWEEN 1 AND 3),
  ial                 SMALLINT    NOT NULL CHECK (ial BETWEEN 1 AND 3),
  status              SMALLINT    NOT NULL DEFAULT 1,
  verification_source TEXT        NOT NULL,
  registration_method TEXT        NOT NULL,
  create_request_id   TEXT        NOT NULL UNIQUE,
  created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE citizen_identities (
  account_id        UUID PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
  cccd_index        TEXT UNIQUE,      -- blind index of the CCCD (SUB-1: one account per person)
  cmnd_index        TEXT UNIQUE,
  cccd_sealed       TEXT,
  cmnd_sealed       TEXT,
  full_name_sealed  TEXT NOT NULL,
  birth_date_sealed TEXT NOT NULL,
  gender            TEXT NOT NULL DEFAULT '',
  phone_sealed      TEXT NOT NULL,
  email_sealed      TEXT,
  CHECK (cccd_index IS NOT NULL OR cmnd_index IS NOT NULL)
);

CREATE TABLE credentials (
  account_id  UUID        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
  type        TEXT        NOT NULL,   -- 'PASSWORD'
  secret_hash TEXT        NOT NULL,   -- Argon2id PHC string
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, type)
);

-- Consent to the information-sharing policy, with time and version (X-3).
CREATE TABLE consents (
  account_id  UUID        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
  version     TEXT        NOT NULL,
  accepted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, version)
);

-- Security audit trail per account (X-4). No personal data in `detail`.
CREATE TABLE audit_events (
  id          BIGSERIAL PRIMARY KEY,
  account_id  UUID        NOT NULL,
  event       TEXT        NOT NULL,
  detail      TEXT        NOT NULL DEFAULT '',
  at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_account ON audit_events (account_id, at);
