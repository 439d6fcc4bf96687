-- Certificate registration flows (REG-3 SIM, REG-4 USB, REG-6 SmartCA) on the same table.
-- The signer (SmartCA user id / SIM phone) and the verified certificate (holder name, identity
-- numbers, fingerprint, …) are one sealed JSON document (cert_sealed, AES-256-GCM, associated
-- data = column + flow id), wiped when the flow ends. The rest is not personal data.
ALTER TABLE registration_flows
  ADD COLUMN subject_kind         TEXT CHECK (subject_kind IN ('CITIZEN', 'BUSINESS', 'AGENCY')),
  ADD COLUMN unit_code            TEXT,      -- AGENCY: as typed (a public agency code)
  ADD COLUMN cert_sealed          TEXT,
  ADD COLUMN challenge_id         TEXT,      -- USB: the live challenge ...
  ADD COLUMN challenge            TEXT,      -- ... its bytes, base64
  ADD COLUMN transaction_id       TEXT,      -- SIM / SmartCA: the live signing request ...
  ADD COLUMN verification_code    TEXT,      -- ... and the code shown on both screens
  ADD COLUMN signature_expires_at TIMESTAMPTZ,
  ADD COLUMN signature_requests   SMALLINT NOT NULL DEFAULT 0;

ALTER TABLE registration_flows DROP CONSTRAINT registration_flows_state_check;
ALTER TABLE registration_flows ADD CONSTRAINT registration_flows_state_check CHECK (state IN (
  'SUBSCRIBER_CHECK_PENDING', 'OTP_SEND_PENDING', 'OTP_SENT', 'PASSWORD_REQUIRED', 'COMPLETED',
  'FAILED', 'SIGNATURE_START_PENDING', 'SIGNATURE_REQUIRED', 'SIGNATURE_PENDING',
  'DUPLICATE_CHECK_PENDING', 'REVIEW', 'EXISTING_ACCOUNT'));
