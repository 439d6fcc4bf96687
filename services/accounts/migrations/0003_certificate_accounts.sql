-- IAL3 accounts registered with a digital-signature certificate (issue 3): businesses (SUB-2),
-- state-agency officials (SUB-3), certificate credentials (one certificate → one account), and
-- citizens identified by a certificate (no birth date or phone: certificates carry neither).
-- Personal data stays sealed (AES-256-GCM) and is found through keyed blind indexes (X-3).

-- Citizens: passport numbers (HC: UIDs) and rows without birth date / phone.
ALTER TABLE citizen_identities
  ALTER COLUMN birth_date_sealed DROP NOT NULL,
  ALTER COLUMN phone_sealed DROP NOT NULL,
  ADD COLUMN passport_index TEXT,
  ADD COLUMN passport_sealed TEXT;
ALTER TABLE citizen_identities
  ADD CONSTRAINT citizen_identities_passport_index_key UNIQUE (passport_index);
ALTER TABLE citizen_identities DROP CONSTRAINT citizen_identities_check;
ALTER TABLE citizen_identities ADD CONSTRAINT citizen_identities_id_number_check
  CHECK (cccd_index IS NOT NULL OR cmnd_index IS NOT NULL OR passport_index IS NOT NULL);

-- Businesses: one account per MST (a branch "XXXXXXXXXX-BBB" is its own taxpayer).
CREATE TABLE business_identities (
  account_id                  UUID PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
  mst_index                   TEXT NOT NULL,
  mst_sealed                  TEXT NOT NULL,
  name_sealed                 TEXT NOT NULL,
  email_sealed                TEXT NOT NULL,     -- required for businesses (SUB-2)
  phone_sealed                TEXT,
  address_sealed              TEXT,
  representative_cccd_sealed  TEXT,
  representative_cccd_index   TEXT,              -- not unique: one person may represent several
  CONSTRAINT business_identities_mst_index_key UNIQUE (mst_index)
);
CREATE INDEX business_identities_representative ON business_identities (representative_cccd_index)
  WHERE representative_cccd_index IS NOT NULL;

-- State-agency officials: one account per (unit code, official's CCCD). The unit code and the
-- organisation name are public data and kept in clear; the official's data is sealed.
CREATE TABLE agency_identities (
  account_id                 UUID PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
  unit_code                  TEXT NOT NULL,
  organization_name          TEXT NOT NULL,
  unit_official_index        TEXT NOT NULL,     -- blind index of unit_code "|" official CCCD
  official_cccd_index        TEXT NOT NULL,     -- blind index of the official's CCCD
  official_cccd_sealed       TEXT NOT NULL,
  official_full_name_sealed  TEXT NOT NULL,
  email_sealed               TEXT,
  phone_sealed               TEXT,
  CONSTRAINT agency_identities_unit_official_index_key UNIQUE (unit_official_index)
);
CREATE INDEX agency_identities_unit_code ON agency_identities (unit_code);

-- Certificate credentials. The fingerprint is globally unique: a certificate belongs to one
-- account for good (a removed one keeps its row, so it cannot move to another account).
CREATE TABLE certificate_credentials (
  id                 BIGSERIAL PRIMARY KEY,
  account_id         UUID        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
  fingerprint_sha256 TEXT        NOT NULL CHECK (fingerprint_sha256 ~ '^[0-9a-f]{64}$'),
  method             TEXT        NOT NULL CHECK (method IN ('USB', 'SIM', 'SMARTCA')),
  issuer_cn          TEXT        NOT NULL,
  serial_hex         TEXT        NOT NULL,
  not_after          TIMESTAMPTZ NOT NULL,
  subscriber_sealed  TEXT,                      -- SIM MSISDN or SmartCA user id
  add_request_id     TEXT,                      -- AddCertificate's idempotency key
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  removed_at         TIMESTAMPTZ,
  CONSTRAINT certificate_credentials_fingerprint_key UNIQUE (fingerprint_sha256),
  CONSTRAINT certificate_credentials_add_request_id_key UNIQUE (add_request_id)
);
CREATE INDEX certificate_credentials_account ON certificate_credentials (account_id);
