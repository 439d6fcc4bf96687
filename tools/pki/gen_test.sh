#!/usr/bin/env bash
# //tools/pki:gen_test — builds the test PKI into $TEST_TMPDIR on free ports and checks it with the
# openssl CLI: chains, the broken certificates' failures, subjects, CRLs, OCSP (through
# tools/pki/serve), the SoftHSM2 tokens, and that serve leaves nothing running.
# Needs no running stack. Also runs outside Bazel: tools/pki/gen_test.sh
set -uo pipefail

if [ -n "${TEST_SRCDIR:-}" ] && [ -x "$TEST_SRCDIR/${TEST_WORKSPACE:-dvc_identity}/tools/pki/gen" ]; then
  HERE="$TEST_SRCDIR/${TEST_WORKSPACE:-dvc_identity}/tools/pki"
else
  HERE=$(cd "$(dirname "$0")" && pwd)
fi
T=${TEST_TMPDIR:-}
CLEANUP_T=0
if [ -z "$T" ]; then T=$(mktemp -d); CLEANUP_T=1; fi
OUT="$T/pki"
SERVE_PID=""
export OPENSSL_CONF=/dev/null

failures=0 checks=0
ok() { checks=$((checks + 1)); echo "PASS: $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
check() {  # check DESCRIPTION COMMAND… : passes when the command succeeds
  local what=$1; shift
  if "$@" > "$T/check.out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$T/check.out" | head -20; fi
}
finish() {
  if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; fi
  [ "$CLEANUP_T" = 1 ] && rm -rf "$T"
}
trap finish EXIT

# A CRL port and three consecutive free OCSP ports.
read -r CRL_PORT OCSP_BASE < <(python3 - <<'EOF'
import socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
def any_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
crl = any_port()
while True:
    b = any_port()
    if b + 2 < 65536 and crl not in (b, b + 1, b + 2) and all(free(b + i) for i in range(3)):
        break
print(crl, b)
EOF
)
echo "ports: CRL $CRL_PORT, OCSP $OCSP_BASE..$((OCSP_BASE + 2)); output in $OUT"

# ---- generation (twice: it must be idempotent for the same --out) ----------------------------
start=$(date +%s)
if ! "$HERE/gen" --out "$OUT" --ocsp_port_base "$OCSP_BASE" --crl_port "$CRL_PORT" > "$T/gen1.log" 2>&1; then
  bad "tools/pki/gen failed"; cat "$T/gen1.log"; exit 1
fi
first=$(( $(date +%s) - start ))
touch "$OUT/stale-file"
start=$(date +%s)
if ! "$HERE/gen" --out "$OUT" --ocsp_port_base "$OCSP_BASE" --crl_port "$CRL_PORT" > "$T/gen2.log" 2>&1; then
  bad "tools/pki/gen failed on an existing --out"; cat "$T/gen2.log"; exit 1
fi
second=$(( $(date +%s) - start ))
ok "gen ran twice on the same --out (${first}s, ${second}s)"
check "gen wiped the old --out" test ! -e "$OUT/stale-file"
check "gen refuses to wipe a folder that is not a test PKI" \
  bash -c "mkdir -p '$T/precious' && echo x > '$T/precious/f' && ! '$HERE/gen' --out '$T/precious' 2>/dev/null && test -f '$T/precious/f'"
check "gen rejects a missing --out" bash -c "! '$HERE/gen' 2>/dev/null"

M="$OUT/manifest.json"
# ---- manifest structure (Contract A) and identity values --------------------------------------
check "manifest follows Contract A" python3 - "$M" "$OUT" "$OCSP_BASE" "$CRL_PORT" <<'EOF'
import json, os, re, sys
m = json.load(open(sys.argv[1], encoding="utf-8")); out = sys.argv[2]
base, crl = int(sys.argv[3]), int(sys.argv[4])
errs = []
def e(msg): errs.append(msg)
def exists(p, what):
    if not (isinstance(p, str) and os.path.isabs(p) and os.path.exists(p)): e("%s: missing file %r" % (what, p))
if set(m) != {"trust_dir", "cas", "crl_dir", "ocsp_responders", "certs", "softhsm"}: e("top-level keys %s" % sorted(m))
if m["trust_dir"] != out + "/trust" or sorted(os.listdir(m["trust_dir"])) != ["gov-root.pem", "national-root.pem"]:
    e("trust_dir must hold exactly the two trusted roots: %s" % os.listdir(m["trust_dir"]))
want_cas = {"national-root": None, "gov-root": None, "rogue-root": None, "vnpt-ca": "national-root",
            "viettel-ca": "national-root", "gov-ca": "gov-root", "rogue-ca": "rogue-root"}
ocsp = {"vnpt-ca": base, "viettel-ca": base + 1, "gov-ca": base + 2}
if set(m["cas"]) != set(want_cas): e("cas %s" % sorted(m["cas"]))
for name, ca in m["cas"].items():
    if set(ca) != {"cert", "issuer", "ocsp_url", "crl_url"}: e("ca %s keys %s" % (name, sorted(ca)))
    if ca["cert"] != "%s/ca/%s/ca.pem" % (out, name): e("ca %s cert path %s" % (name, ca["cert"]))
    exists(ca["cert"], name)
    if ca["issuer"] != want_cas.get(name): e("ca %s issuer %s" % (name, ca["issuer"]))
    want_ocsp = "http://127.0.0.1:%d" % ocsp[name] if name in ocsp else None
    if ca["ocsp_url"] != want_ocsp: e("ca %s ocsp_url %s" % (name, ca["ocsp_url"]))
    if ca["crl_url"] != "http://127.0.0.1:%d/%s.crl" % (crl, name): e("ca %s crl_url %s" % (name, ca["crl_url"]))
    exists(os.path.join(m["crl_dir"], name + ".crl"), "crl of " + name)
resp = {r["ca"]: r for r in m["ocsp_responders"]}
if set(resp) != set(ocsp): e("ocsp_responders %s" % sorted(resp))
for ca, r in resp.items():
    if set(r) != {"ca", "port", "index", "ca_cert", "signer_cert", "signer_key"}: e("responder %s keys" % ca)
    if r["port"] != ocsp[ca]: e("responder %s port %s" % (ca, r["port"]))
    for k in ("index", "ca_cert", "signer_cert", "signer_key"): exists(r[k], "responder %s %s" % (ca, k))
if resp["vnpt-ca"]["signer_cert"] == resp["vnpt-ca"]["ca_cert"]: e("vnpt-ca must use a delegated OCSP signer")
for ca in ("viettel-ca", "gov-ca"):
    if resp[ca]["signer_cert"] != resp[ca]["ca_cert"]: e("%s must sign OCSP with the CA key" % ca)

W = [31, 29, 23, 19, 17, 13, 7, 5, 3]
PROV = {1,2,4,6,8,10,11,12,14,15,17,19,20,22,24,25,26,27,30,31,33,34,35,36,37,38,40,42,44,45,46,48,
        49,51,52,54,56,58,60,62,64,66,67,68,70,72,74,75,77,79,80,82,83,84,86,87,89,91,92,93,94,95,96}
def cccd_ok(v): return bool(re.fullmatch(r"\d{12}", v)) and int(v[:3]) in PROV and v[3] <= "3"
def mst_ok(v):
    mm = re.fullmatch(r"(\d{10})(-(\d{3}))?", v)
    if not mm or mm.group(3) == "000" or mm.group(1)[2:9] == "0000000": return False
    r = sum(w * int(d) for w, d in zip(W, mm.group(1))) % 11
    return r != 0 and 10 - r == int(mm.group(1)[9])
def uid_ok(u):
    p, _, v = u.partition(":")
    return cccd_ok(v) if p == "CCCD" else mst_ok(v) if p == "MST" else True
def kind(uids):
    ps = [u.split(":", 1)[0] for u in uids]
    return ("business" if "MST" in ps else "agency" if "MNS" in ps else
            "person" if any(p in ("CCCD", "CMND", "HC", "PID", "PPID") for p in ps) else "seal")
want = {  # name: (issuer, expect)
    "citizen-usb": ("vnpt-ca", "ok"), "business-usb": ("vnpt-ca", "ok"), "business-branch-usb": ("vnpt-ca", "ok"),
    "agency-official-usb": ("gov-ca", "ok"), "citizen-ecdsa-usb": ("vnpt-ca", "ok"), "seal-usb": ("vnpt-ca", "ok"),
    "citizen-sim": ("viettel-ca", "ok"), "business-sim": ("viettel-ca", "ok"), "agency-official-sim": ("gov-ca", "ok"),
    "citizen-smartca": ("vnpt-ca", "ok"), "business-smartca": ("vnpt-ca", "ok"),
    "revoked-usb": ("vnpt-ca", "CERT_REVOKED"), "revoked-sim": ("viettel-ca", "CERT_REVOKED"),
    "expired-usb": (None, "CERT_EXPIRED"), "not-yet-valid-usb": (None, "CERT_NOT_YET_VALID"),
    "wrong-key-usage-usb": (None, "CERT_KEY_USAGE"), "untrusted-usb": ("rogue-ca", "CERT_UNTRUSTED"),
    "sha1-usb": (None, "CERT_WEAK_ALGORITHM"), "rsa1024-usb": (None, "CERT_WEAK_KEY"),
    "bad-cccd-usb": (None, "CERT_IDENTITY_INVALID"), "bad-mst-usb": (None, "CERT_IDENTITY_INVALID")}
if set(m["certs"]) != set(want): e("certs: missing %s, extra %s" % (sorted(set(want) - set(m["certs"])), sorted(set(m["certs"]) - set(want))))
seen_ids = {}
for name, c in m["certs"].items():
    issuer, expect = want.get(name, (None, None))
    for k in ("cert", "key", "chain"): exists(c[k], "%s %s" % (name, k))
    if c["cert"] != "%s/certs/%s.pem" % (out, name) or c["key"] != "%s/certs/%s.key" % (out, name) \
            or c["chain"] != "%s/certs/%s.chain.pem" % (out, name):
        e("%s: file names" % name)
    if "PRIVATE KEY-----" not in open(c["key"]).read() or "BEGIN PRIVATE KEY" not in open(c["key"]).read():
        e("%s: key is not unencrypted PKCS#8 PEM" % name)
    if issuer and c["issuer"] != issuer: e("%s issuer %s" % (name, c["issuer"]))
    if c["issuer"] not in m["cas"]: e("%s issuer unknown" % name)
    if c["expect"] != expect: e("%s expect %s" % (name, c["expect"]))
    if c["kind"] != kind(c["uids"]): e("%s kind %s, Contract B says %s" % (name, c["kind"], kind(c["uids"])))
    for u in c["uids"]:
        if u in seen_ids: e("%s and %s share %s" % (name, seen_ids[u], u))
        seen_ids[u] = name
        if "UID=" + u not in c["subject"]: e("%s: %s not in subject %s" % (name, u, c["subject"]))
    valid = all(uid_ok(u) for u in c["uids"])
    if valid != (expect != "CERT_IDENTITY_INVALID"): e("%s: identity validity %s does not match expect" % (name, valid))
    if name.endswith("-sim") != ("phone" in c): e("%s: phone presence" % name)
    if "phone" in c and not re.fullmatch(r"84\d{9}", c["phone"]): e("%s phone %s" % (name, c["phone"]))
    if name.endswith("-smartca") != ("smartca_user_id" in c): e("%s: smartca_user_id presence" % name)
    if "token" in c and not name.endswith("-usb"): e("%s on a token" % name)
checks = {"citizen-usb": ["CCCD"], "business-usb": ["MST"], "business-branch-usb": ["MST", "CCCD"],
          "agency-official-usb": ["CCCD"], "citizen-ecdsa-usb": ["CCCD"], "seal-usb": [],
          "citizen-sim": ["CCCD"], "business-sim": ["MST"], "agency-official-sim": ["CCCD"],
          "citizen-smartca": ["CCCD"], "business-smartca": ["MST"]}
for name, prefixes in checks.items():
    got = [u.split(":")[0] for u in m["certs"][name]["uids"]]
    if got != prefixes: e("%s UIDs %s, want prefixes %s" % (name, got, prefixes))
if not re.fullmatch(r"MST:\d{10}-\d{3}", m["certs"]["business-branch-usb"]["uids"][0]): e("branch MST form")
if "\\," not in m["certs"]["business-branch-usb"]["subject"]: e("business-branch-usb CN must contain a comma")
if m["certs"]["seal-usb"]["kind"] != "seal": e("seal-usb kind")
if not m["certs"]["citizen-sim"]["phone"].startswith("849"): e("citizen-sim phone must be 849…")
hsm = m["softhsm"]
if hsm["conf"] != out + "/softhsm2.conf" or not os.path.isfile(hsm["module"]): e("softhsm conf/module")
tokens = {t["label"]: t for t in hsm["tokens"]}
want_tok = {"DVC Test Token 1": ["citizen-usb", "business-branch-usb"],
            "DVC Test Token 2": ["business-usb", "agency-official-usb", "citizen-ecdsa-usb", "seal-usb", "revoked-usb"]}
for label, names in want_tok.items():
    t = tokens.get(label)
    if not t: e("token %s missing" % label); continue
    if t["pin"] != "123456": e("token %s pin" % label)
    if [o["cert"] for o in t["objects"]] != names: e("token %s objects %s" % (label, t["objects"]))
for t in hsm["tokens"]:
    ids = [o["id"] for o in t["objects"]]
    if len(set(ids)) != len(ids) or not all(re.fullmatch(r"[0-9a-f]+", i) for i in ids): e("token %s ids" % t["label"])
    for o in t["objects"]:
        if m["certs"][o["cert"]].get("token") != t["label"]: e("%s token field" % o["cert"])
for name, c in m["certs"].items():
    if name.endswith("-usb") and c["expect"] == "ok" and "token" not in c: e("%s is on no token" % name)
for x in errs: print(x)
sys.exit(1 if errs else 0)
EOF

# Shell-friendly view of the manifest: NAME ISSUER EXPECT CERT CHAIN
python3 -c '
import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
for n, c in sorted(m["certs"].items()):
    print(n, c["issuer"], c["expect"], c["cert"], c["chain"])
' "$M" > "$T/certs.txt"
cat "$OUT"/trust/*.pem > "$T/roots.pem"

# ---- CA certificates ---------------------------------------------------------------------------
subj() { openssl x509 -in "$1" -noout -subject -nameopt utf8,sep_comma_plus | sed 's/^subject=//'; }
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
check "national-root subject" test "$(subj "$OUT/ca/national-root/ca.pem")" = \
  "C=VN,O=Ministry of Information and Communications,OU=National Centre of Digital Signature Authentication,CN=Vietnam National Root CA (TEST)"
check "gov-root subject (UTF-8)" test "$(subj "$OUT/ca/gov-root/ca.pem")" = "C=VN,O=Ban Cơ yếu Chính phủ,CN=RootCA chuyên dùng Chính phủ G2 (TEST)"
check "gov-ca subject (UTF-8)" bash -c "openssl x509 -in '$OUT/ca/gov-ca/ca.pem' -noout -subject -nameopt utf8,sep_comma_plus | grep -qF 'CN=CA phục vụ các cơ quan Nhà nước G2 (TEST)'"
check "rogue-root has national-root's subject" test "$(subj "$OUT/ca/rogue-root/ca.pem")" = "$(subj "$OUT/ca/national-root/ca.pem")"
check "rogue-root has another key" test "$(fpr "$OUT/ca/rogue-root/ca.pem")" != "$(fpr "$OUT/ca/national-root/ca.pem")"
check "rogue-ca has vnpt-ca's subject" test "$(subj "$OUT/ca/rogue-ca/ca.pem")" = "$(subj "$OUT/ca/vnpt-ca/ca.pem")"
for ca in national-root gov-root rogue-root; do
  check "$ca is RSA-4096, CA:TRUE critical, keyCertSign+cRLSign" bash -c "
    t=\$(openssl x509 -in '$OUT/ca/$ca/ca.pem' -noout -text)
    grep -q 'Public-Key: (4096 bit)' <<<\"\$t\" && grep -A1 'Basic Constraints: critical' <<<\"\$t\" | grep -q 'CA:TRUE' &&
    grep -A1 'Key Usage: critical' <<<\"\$t\" | grep -q 'Certificate Sign, CRL Sign'"
done
for ca in vnpt-ca viettel-ca gov-ca rogue-ca; do
  check "$ca is CA:TRUE pathlen:0, with a CRL distribution point" bash -c "
    t=\$(openssl x509 -in '$OUT/ca/$ca/ca.pem' -noout -text)
    grep -A1 'Basic Constraints: critical' <<<\"\$t\" | grep -q 'CA:TRUE, pathlen:0' && grep -q 'URI:http://127.0.0.1:$CRL_PORT/' <<<\"\$t\""
done
check "vnpt-ca OCSP signer: EKU OCSPSigning + ocsp-nocheck, issued by vnpt-ca" bash -c "
  t=\$(openssl x509 -in '$OUT/ca/vnpt-ca/ocsp-signer.pem' -noout -text)
  grep -q 'OCSP Signing' <<<\"\$t\" && grep -q 'OCSP No Check' <<<\"\$t\" &&
  openssl verify -x509_strict -CAfile '$T/roots.pem' -untrusted '$OUT/ca/vnpt-ca/ca.pem' '$OUT/ca/vnpt-ca/ocsp-signer.pem'"

# ---- end-user certificates: chains and the failures openssl can tell --------------------------
verify_err() {  # verify_err CHAIN CERT [extra openssl verify flags…] → prints "OK" or "error N"
  local chain=$1 cert=$2; shift 2
  local o
  if o=$(openssl verify -x509_strict -CAfile "$T/roots.pem" -untrusted "$chain" "$@" "$cert" 2>&1); then echo OK
  else grep -o 'error [0-9]*' <<<"$o" | head -1; fi
}
while read -r name issuer expect cert chain; do
  plain=$(verify_err "$chain" "$cert")
  strict=$(verify_err "$chain" "$cert" -auth_level 2)
  case $expect in
    ok|CERT_REVOKED|CERT_KEY_USAGE|CERT_IDENTITY_INVALID)
      [ "$plain" = OK ] && [ "$strict" = OK ] && ok "$name ($expect) chain verifies" || bad "$name ($expect): verify says $plain / auth_level 2: $strict" ;;
    CERT_EXPIRED) [ "$plain" = "error 10" ] && ok "$name: certificate has expired" || bad "$name: expected error 10 (expired), got $plain" ;;
    CERT_NOT_YET_VALID) [ "$plain" = "error 9" ] && ok "$name: not yet valid" || bad "$name: expected error 9, got $plain" ;;
    CERT_UNTRUSTED)
      [ "$plain" = "error 20" ] || [ "$plain" = "error 2" ] && ok "$name: untrusted root ($plain)" || bad "$name: expected untrusted (20), got $plain"
      check "$name chains to rogue-root" openssl verify -CAfile "$OUT/ca/rogue-root/ca.pem" -untrusted "$chain" "$cert" ;;
    CERT_WEAK_ALGORITHM)
      [ "$strict" = "error 68" ] && ok "$name: digest too weak at auth_level 2" || bad "$name: expected error 68, got $strict"
      check "$name is signed with SHA-1" bash -c "openssl x509 -in '$cert' -noout -text | grep -q 'Signature Algorithm: sha1WithRSAEncryption'" ;;
    CERT_WEAK_KEY)
      [ "$strict" = "error 66" ] && ok "$name: key too weak at auth_level 2" || bad "$name: expected error 66, got $strict"
      check "$name has an RSA-1024 key" bash -c "openssl x509 -in '$cert' -noout -text | grep -q 'Public-Key: (1024 bit)'" ;;
    *) bad "$name: unknown expect $expect" ;;
  esac
  # Chain file: the leaf, then its issuing CA, no root.
  want_chain=$(cat "$cert" "$OUT/ca/$issuer/ca.pem")
  [ "$(cat "$chain")" = "$want_chain" ] && ok "$name chain file" || bad "$name: chain file is not leaf + $issuer"
  # Extensions.
  text=$(openssl x509 -in "$cert" -noout -text)
  if [ "$expect" = CERT_KEY_USAGE ]; then
    grep -A1 'Key Usage: critical' <<<"$text" | tail -1 | grep -qx ' *Key Encipherment' \
      && ok "$name: keyUsage is keyEncipherment only" || bad "$name: keyUsage"
  else
    grep -A1 'Key Usage: critical' <<<"$text" | tail -1 | grep -qx ' *Digital Signature, Non Repudiation' \
      && ok "$name: keyUsage digitalSignature,nonRepudiation" || bad "$name: keyUsage"
  fi
  ocsp_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cas"][sys.argv[2]]["ocsp_url"] or "")' "$M" "$issuer")
  if [ -n "$ocsp_url" ]; then
    grep -q "OCSP - URI:$ocsp_url" <<<"$text" && ok "$name: AIA OCSP $ocsp_url" || bad "$name: AIA OCSP missing"
  fi
  if grep -q 'CA Issuers' <<<"$text"; then bad "$name: has caIssuers"; fi
  grep -q "URI:http://127.0.0.1:$CRL_PORT/$issuer.crl" <<<"$text" && ok "$name: CRL DP" || bad "$name: CRL DP missing"
  grep -A1 'Basic Constraints: critical' <<<"$text" | grep -q 'CA:FALSE' || bad "$name: basicConstraints"
done < "$T/certs.txt"
check "citizen-ecdsa-usb has an ECDSA P-256 key" bash -c "openssl x509 -in '$OUT/certs/citizen-ecdsa-usb.pem' -noout -text | grep -q 'NIST CURVE: P-256'"

# Subjects: UTF-8 Vietnamese names and every UID, as openssl prints them.
check "subjects carry the Vietnamese CN and every UID" python3 - "$M" <<'EOF'
import json, subprocess, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
errs = []
for name, c in m["certs"].items():
    s = subprocess.run(["openssl", "x509", "-in", c["cert"], "-noout", "-subject", "-nameopt", "utf8,sep_comma_plus"],
                       capture_output=True, check=True).stdout.decode("utf-8").strip()
    for u in c["uids"]:
        if ("UID=" + u) not in s: errs.append("%s: UID %s not in %s" % (name, u, s))
    if s.count("UID=") != len(c["uids"]): errs.append("%s: UID count in %s" % (name, s))
    r = subprocess.run(["openssl", "x509", "-in", c["cert"], "-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"],
                       capture_output=True, check=True).stdout.decode("utf-8").strip()
    if r != "subject=" + c["subject"]: errs.append("%s: manifest subject %r != %r" % (name, c["subject"], r))
    if "phone" in c and "telephoneNumber=" + c["phone"] not in s: errs.append("%s: telephoneNumber" % name)
    asn1 = subprocess.run(["openssl", "asn1parse", "-in", c["cert"]], capture_output=True, check=True).stdout.decode("utf-8")
    if "commonName" in asn1 and "UTF8STRING" not in asn1: errs.append("%s: names are not UTF8String" % name)
for name, cn in {"citizen-usb": "CN=Nguyễn Văn An", "citizen-sim": "CN=Trần Thị Bích Ngọc",
                 "business-branch-usb": ", CHI NHÁNH HÀ NỘI", "agency-official-usb": "OU="}.items():
    s = subprocess.run(["openssl", "x509", "-in", m["certs"][name]["cert"], "-noout", "-subject", "-nameopt",
                        "utf8,sep_comma_plus"], capture_output=True, check=True).stdout.decode("utf-8")
    if cn not in s: errs.append("%s: %r not in %s" % (name, cn, s))
if "emailAddress=" not in m["certs"]["business-usb"]["subject"]: errs.append("business-usb has no email")
for x in errs: print(x)
sys.exit(1 if errs else 0)
EOF

# CRLs: every chain of a good certificate passes full CRL checking; revoked ones are reported.
for ca in national-root gov-root vnpt-ca viettel-ca gov-ca; do
  openssl crl -inform DER -in "$OUT/crl/$ca.crl" -out "$T/$ca.crl.pem" || bad "$ca.crl is not a DER CRL"
done
cat "$T"/*.crl.pem > "$T/crls.pem"
check "citizen-usb passes -crl_check_all" openssl verify -crl_check_all -CAfile "$T/roots.pem" -CRLfile "$T/crls.pem" \
  -untrusted "$OUT/certs/citizen-usb.chain.pem" "$OUT/certs/citizen-usb.pem"
check "agency-official-sim passes -crl_check_all" openssl verify -crl_check_all -CAfile "$T/roots.pem" -CRLfile "$T/crls.pem" \
  -untrusted "$OUT/certs/agency-official-sim.chain.pem" "$OUT/certs/agency-official-sim.pem"
for n in revoked-usb revoked-sim; do
  r=$(verify_err "$OUT/certs/$n.chain.pem" "$OUT/certs/$n.pem" -crl_check -CRLfile "$T/crls.pem")
  [ "$r" = "error 23" ] && ok "$n: certificate revoked (CRL)" || bad "$n: expected error 23 with the CRL, got $r"
done

# ---- serve: OCSP and the CRLs over HTTP --------------------------------------------------------
"$HERE/serve" "$OUT" > "$T/serve.out" 2> "$T/serve.err" &
SERVE_PID=$!
for _ in $(seq 1 200); do grep -q '^PKI_OCSP_READY=1' "$T/serve.out" 2>/dev/null && break; sleep 0.1; done
if ! grep -q '^PKI_OCSP_READY=1' "$T/serve.out"; then
  bad "serve did not print PKI_OCSP_READY=1"; cat "$T/serve.out" "$T/serve.err"
else
  ok "serve is ready"
  ocsp_status() {  # ocsp_status CA CERT ROOT → good|revoked|unknown|ERROR
    local url; url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cas"][sys.argv[2]]["ocsp_url"])' "$M" "$1")
    local o
    o=$(timeout 20 openssl ocsp -issuer "$OUT/ca/$1/ca.pem" -cert "$2" -url "$url" -CAfile "$3" 2>&1) \
      || { echo "ERROR: $o" | head -3 | tr '\n' ' '; return; }
    grep -q 'Response verify OK' <<<"$o" || { echo "ERROR: unverified $o" | tr '\n' ' '; return; }
    sed -n "s|^$2: \([a-z]*\)$|\1|p" <<<"$o"
  }
  NR="$OUT/ca/national-root/ca.pem" GR="$OUT/ca/gov-root/ca.pem"
  for t in "vnpt-ca citizen-usb $NR good" "vnpt-ca revoked-usb $NR revoked" "vnpt-ca business-usb $NR good" \
           "viettel-ca citizen-sim $NR good" "viettel-ca revoked-sim $NR revoked" \
           "gov-ca agency-official-usb $GR good" "gov-ca agency-official-sim $GR good"; do
    set -- $t
    s=$(ocsp_status "$1" "$OUT/certs/$2.pem" "$3")
    [ "$s" = "$4" ] && ok "OCSP ($1): $2 is $4" || bad "OCSP ($1): $2 expected $4, got $s"
  done
  # A connection closed without a request must not take the responder down.
  python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',int(sys.argv[1]))); s.close()" "$OCSP_BASE"
  s=$(ocsp_status vnpt-ca "$OUT/certs/citizen-usb.pem" "$NR")
  [ "$s" = good ] && ok "OCSP still answers after an empty connection" || bad "OCSP after an empty connection: $s"
  check "OCSP responses carry the request nonce" bash -c "timeout 20 openssl ocsp -issuer '$OUT/ca/vnpt-ca/ca.pem' \
    -cert '$OUT/certs/citizen-usb.pem' -url http://127.0.0.1:$OCSP_BASE -CAfile '$NR' -resp_text 2>&1 | grep -q 'OCSP Nonce'"
  serial=$(openssl x509 -in "$OUT/certs/revoked-usb.pem" -noout -serial | cut -d= -f2)
  if python3 -c 'import sys,urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
       "http://127.0.0.1:$CRL_PORT/vnpt-ca.crl" > "$T/fetched.crl"; then
    ok "CRL served over HTTP"
    listed=$(openssl crl -inform DER -in "$T/fetched.crl" -noout -text | sed -n 's/^ *Serial Number: //p')
    grep -qix "$serial" <<<"$listed" && ok "vnpt-ca CRL lists revoked-usb ($serial)" || bad "vnpt-ca CRL does not list $serial: $listed"
    good_serial=$(openssl x509 -in "$OUT/certs/citizen-usb.pem" -noout -serial | cut -d= -f2)
    grep -qix "$good_serial" <<<"$listed" && bad "vnpt-ca CRL lists citizen-usb" || ok "vnpt-ca CRL does not list citizen-usb"
    cmp -s "$T/fetched.crl" "$OUT/crl/vnpt-ca.crl" && ok "served CRL = crl_dir/vnpt-ca.crl" || bad "served CRL differs"
  else
    bad "GET http://127.0.0.1:$CRL_PORT/vnpt-ca.crl failed"
  fi
  # SIGTERM: serve and every responder it started go away, and the ports are freed.
  children=$(pgrep -P "$SERVE_PID" | tr '\n' ' ')
  [ -n "$children" ] && ok "serve runs responders ($children)" || bad "serve has no child processes"
  kill -TERM "$SERVE_PID"
  rc=0; wait "$SERVE_PID" || rc=$?
  SERVE_PID=""
  [ "$rc" = 0 ] && ok "serve exits 0 on SIGTERM" || bad "serve exited $rc on SIGTERM"
  sleep 0.3
  left=""
  for p in $children; do kill -0 "$p" 2>/dev/null && left+=" $p"; done
  left+=$(pgrep -f -- "-index $OUT/ca/" | sed 's/^/ /' | tr -d '\n')
  if [ -z "$left" ]; then ok "no process left behind after SIGTERM"; else
    bad "processes left behind after SIGTERM:$left"; for p in $left; do kill "$p" 2>/dev/null; done
  fi
  check "ports are free after SIGTERM" python3 -c "
import socket, sys
for p in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', p)); s.close()" "$CRL_PORT" "$OCSP_BASE" $((OCSP_BASE + 1)) $((OCSP_BASE + 2))
fi

# ---- SoftHSM2 tokens ---------------------------------------------------------------------------
check "SoftHSM2 tokens hold each listed key pair and certificate" python3 - "$M" <<'EOF'
import json, os, re, subprocess, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
h = m["softhsm"]
env = dict(os.environ, SOFTHSM2_CONF=h["conf"])
errs = []
for t in h["tokens"]:
    r = subprocess.run(["pkcs11-tool", "--module", h["module"], "--token-label", t["label"], "--login",
                        "--pin", t["pin"], "--list-objects"], capture_output=True, env=env)
    if r.returncode != 0:
        errs.append("%s: pkcs11-tool failed: %s" % (t["label"], r.stderr.decode(errors="replace"))); continue
    objs = []
    for block in re.split(r"\n(?=\S)", r.stdout.decode("utf-8", errors="replace")):
        kind = block.split(";")[0].strip()
        lab = re.search(r"label:\s+(.*)", block); oid = re.search(r"ID:\s+([0-9a-f]+)", block)
        if lab and oid: objs.append((kind, lab.group(1).strip(), oid.group(1)))
    want = set()
    for o in t["objects"]:
        for kind in ("Private Key Object", "Public Key Object", "Certificate Object"):
            want.add((kind, o["label"], o["id"]))
    if set(objs) != want:
        errs.append("%s: objects %s, want %s" % (t["label"], sorted(objs), sorted(want)))
    bad_pin = subprocess.run(["pkcs11-tool", "--module", h["module"], "--token-label", t["label"], "--login",
                              "--pin", "000000", "--list-objects"], capture_output=True, env=env)
    if bad_pin.returncode == 0: errs.append("%s: a wrong PIN was accepted" % t["label"])
for x in errs: print(x)
sys.exit(1 if errs else 0)
EOF

echo
echo "$((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ] || { echo "FAILED: $failures check(s)"; exit 1; }
echo "all checks passed"
