#!/usr/bin/env bash
# Smoke test of the usb_signer command line against a SoftHSM2 token built under $TEST_TMPDIR:
# list, every signature format verified with the openssl CLI, the PIN from the environment and
# from a file, and the exit codes of the usual mistakes.
set -euo pipefail

SIGNER=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$SIGNER" ] || { echo "usb_signer binary not found: $1" >&2; exit 1; }
MODULE=""
for m in "${SOFTHSM2_MODULE:-}" /usr/lib/softhsm/libsofthsm2.so \
         /usr/lib/*/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  [ -n "$m" ] && [ -f "$m" ] && { MODULE=$m; break; }
done
[ -n "$MODULE" ] || { echo "libsofthsm2.so not found (apt-get install softhsm2)" >&2; exit 1; }

D="${TEST_TMPDIR:?run under bazel test}/cli"
rm -rf "$D"; mkdir -p "$D/tokens"; cd "$D"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$D" \
  > softhsm2.conf
export SOFTHSM2_CONF=$D/softhsm2.conf OPENSSL_CONF=/dev/null
TOKEN="CLI Token" PIN=246810
unset USB_SIGNER_PIN USB_SIGNER_MODULE USB_SIGNER_TOKEN
{
  softhsm2-util --init-token --free --label "$TOKEN" --pin $PIN --so-pin 87654321
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem
  openssl req -x509 -new -utf8 -key rsa.pem -days 10 -outform DER -out rsa.der \
    -subj '/CN=Lê Văn Cường/C=VN'
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
  openssl req -x509 -new -key ec.pem -days 10 -outform DER -out ec.der -subj '/CN=EC User/C=VN'
  openssl pkey -in rsa.pem -pubout -out rsa.pub
  openssl pkey -in ec.pem -pubout -out ec.pub
  softhsm2-util --import rsa.pem --token "$TOKEN" --id 01 --label rsa --pin $PIN
  softhsm2-util --import ec.pem --token "$TOKEN" --id 02 --label ec --pin $PIN
  pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin $PIN \
    --write-object rsa.der --type cert --id 01 --label rsa
  pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin $PIN \
    --write-object ec.der --type cert --id 02 --label ec
} > setup.log 2>&1 || { cat setup.log >&2; exit 1; }

fail() { echo "FAIL: $*" >&2; exit 1; }
COMMON=(--module="$MODULE" --token="$TOKEN")

# list: one line per certificate: id, key type, not_after, subject (tab-separated).
"$SIGNER" list "${COMMON[@]}" --pin=$PIN > list.txt
[ "$(wc -l < list.txt)" = 2 ] || fail "list printed $(cat list.txt)"
grep -qP '^01\tRSA\t20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\tC=VN,CN=Lê Văn Cường$' list.txt \
  || fail "RSA line: $(cat list.txt)"
grep -qP '^02\tEC\t.*\tC=VN,CN=EC User$' list.txt || fail "EC line: $(cat list.txt)"

# The PIN from the environment; signatures to files and verified by openssl.
export USB_SIGNER_PIN=$PIN
printf 'challenge 42' > data.bin
"$SIGNER" sign "${COMMON[@]}" --cert_id=01 --format=pkcs1 --in=data.bin --out=pkcs1.sig
openssl dgst -sha256 -verify rsa.pub -signature pkcs1.sig data.bin > /dev/null || fail pkcs1
"$SIGNER" sign "${COMMON[@]}" --cert_id=01 --format=pss --in=data.bin --out=pss.sig
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
  -sigopt rsa_mgf1_md:sha256 -verify rsa.pub -signature pss.sig data.bin > /dev/null || fail pss
"$SIGNER" sign "${COMMON[@]}" --cert_id=02 --format=ecdsa --in=data.bin --out=ecdsa.sig
openssl dgst -sha256 -verify ec.pub -signature ecdsa.sig data.bin > /dev/null || fail ecdsa

# --challenge_b64 and base64 on stdout.
B64=$(base64 -w0 < data.bin)
"$SIGNER" sign "${COMMON[@]}" --cert_id=02 --format=cms --challenge_b64="$B64" > cms.b64
base64 -d < cms.b64 > cms.der
openssl cms -verify -binary -noverify -inform DER -in cms.der -content data.bin -out /dev/null \
  2> verify.log || { cat verify.log >&2; fail cms; }
"$SIGNER" sign "${COMMON[@]}" --cert_id=01 --format=cms-attached --in=data.bin --out=att.der
openssl cms -verify -binary -noverify -inform DER -in att.der -out content.bin 2> verify.log \
  || { cat verify.log >&2; fail cms-attached; }
cmp -s content.bin data.bin || fail "cms-attached content differs"

# The PIN from a file.
unset USB_SIGNER_PIN
echo $PIN > pin.txt
"$SIGNER" list "${COMMON[@]}" --pin_file=pin.txt > /dev/null || fail "--pin_file"

# Exit codes.
expect_rc() {
  local want=$1; shift
  set +e; "$@" > out.txt 2> err.txt; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "rc $rc (want $want) for $*: $(cat err.txt)"
}
expect_rc 2 "$SIGNER"
expect_rc 2 "$SIGNER" frobnicate
expect_rc 2 "$SIGNER" list "${COMMON[@]}"                       # no PIN
expect_rc 2 "$SIGNER" list "${COMMON[@]}" --pin=$PIN --bogus=1  # unknown flag
expect_rc 2 "$SIGNER" sign "${COMMON[@]}" --pin=$PIN --cert_id=01 --format=pkcs1
expect_rc 2 "$SIGNER" sign "${COMMON[@]}" --pin=$PIN --cert_id=01 --format=pkcs1 \
  --in=data.bin --challenge_b64="$B64"
expect_rc 2 "$SIGNER" sign "${COMMON[@]}" --pin=$PIN --cert_id=01 --format=md5 --in=data.bin
expect_rc 2 "$SIGNER" sign "${COMMON[@]}" --pin=$PIN --cert_id=01 --format=pkcs1 \
  --challenge_b64='***'
expect_rc 3 "$SIGNER" list --module="$D/none.so" --token="$TOKEN" --pin=$PIN
grep -q PKCS11_MODULE_MISSING err.txt || fail "module missing message: $(cat err.txt)"
expect_rc 3 "$SIGNER" list --module="$MODULE" --token="No Token" --pin=$PIN
grep -q TOKEN_NOT_FOUND err.txt || fail "token message: $(cat err.txt)"
expect_rc 4 "$SIGNER" list "${COMMON[@]}" --pin=111111
grep -q TOKEN_PIN_INCORRECT err.txt || fail "PIN message: $(cat err.txt)"
grep -q 'Mã PIN' err.txt || fail "no Vietnamese message: $(cat err.txt)"
expect_rc 5 "$SIGNER" sign "${COMMON[@]}" --pin=$PIN --cert_id=99 --format=pkcs1 --in=data.bin
grep -q TOKEN_CERT_NOT_FOUND err.txt || fail "cert message: $(cat err.txt)"
expect_rc 5 "$SIGNER" sign "${COMMON[@]}" --pin=$PIN --cert_id=02 --format=pss --in=data.bin
grep -q SIGNATURE_FORMAT_MISMATCH err.txt || fail "mismatch message: $(cat err.txt)"
expect_rc 0 "$SIGNER" --help
echo PASS
