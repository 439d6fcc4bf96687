-- Registration flows (REG-*): persisted, expiring state machines. Personal data is sealed with
-- AES-256-GCM (libs/crypto FieldCipher, associated data = column + flow id) and wiped when the
-- flow reaches COMPLETED or FAILED (X-3). Flows are deleted some time after they expire.
CREATE TABLE registration_flows (
  flow_id           UUID        PRIMARY KEY,
  method            TEXT        NOT NULL,
  state             TEXT        NOT NULL CHECK (state IN ('SUBSCRIBER_CHECK_PENDING',
                                  'OTP_SEND_PENDING', 'OTP_SENT', 'PASSWORD_REQUIRED',
                                  'COMPLETED', 'FAILED')),
  id_number_sealed  TEXT,
  full_name_sealed  TEXT,
  birth_date_sealed TEXT,
  phone_sealed      TEXT,
  email_sealed      TEXT,
  id_index          TEXT        NOT NULL,  -- keyed blind index of the id number
  masked_phone      TEXT        NOT NULL,
  consent_version   TEXT        NOT NULL,  -- information-sharing policy accepted (X-3) ...
  consent_at        TIMESTAMPTZ NOT NULL,  -- ... and when
  start_request_id  TEXT        UNIQUE,    -- idempotency key of the start call (optional)
  otp_challenge_id  TEXT,
  otp_expires_at    TIMESTAMPTZ,
  resend_after      TIMESTAMPTZ,
  account_id        TEXT,
  ial               SMALLINT    NOT NULL DEFAULT 0,
  failure_reason    TEXT,
  created_at        TIMESTAMPTZ NOT NULL,
  updated_at        TIMESTAMPTZ NOT NULL,
  expires_at        TIMESTAMPTZ NOT NULL,
  version           BIGINT      NOT NULL DEFAULT 1
);
CREATE INDEX registration_flows_expires ON registration_flows (expires_at);
