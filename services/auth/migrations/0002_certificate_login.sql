-- Certificate login (LGN-3 SIM, LGN-4 USB, LGN-7 SmartCA): a login flow is created before the
-- account is known (the certificate names it only once sigverify verified the signature).
--   method            PASSWORD_OTP | USB | SIM | SMARTCA
--   challenge_id      otp challenge (PASSWORD_OTP), sigverify challenge (USB) or remote-signature
--                     transaction (SIM, SMARTCA)
--   subscriber_index  SIM / SMARTCA: blind index of the phone / SmartCA user id (throttle key)
ALTER TABLE login_flows ADD COLUMN method TEXT NOT NULL DEFAULT 'PASSWORD_OTP';
ALTER TABLE login_flows ADD COLUMN subscriber_index TEXT NOT NULL DEFAULT '';
ALTER TABLE login_flows ALTER COLUMN account_id DROP NOT NULL;
ALTER TABLE login_flows ADD CONSTRAINT login_flows_account_for_password
  CHECK (method <> 'PASSWORD_OTP' OR account_id IS NOT NULL);
