#!/usr/bin/env bash
# Checks openapi/escalated.json from its clients' side (contract §9.2), as .ci/run does:
#   1. openapi-spec-validator accepts it;
#   2. Redocly's `recommended` lint reports no errors;
#   3. openapi-typescript generates its types and `tsc --strict` type-checks example.ts with them;
#   4. openapi-python-client generates a Python client, and drive.py uses it against a live
#      server (SQLite, a scratch directory): create, list with filters, show, reply, status,
#      assigned and unassigned tickets, tokens with and without expiry.
# Needs python3 with pip, node with npm, and cargo. What it installs is kept (npm packages in
# tests/clients/node_modules, Python packages in the user's site), so a second run is quick.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
doc="$root/openapi/escalated.json"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

pip_install() {
  python3 -m pip install -q --disable-pip-version-check "$@" >/dev/null 2>&1 ||
    python3 -m pip install -q --disable-pip-version-check --break-system-packages "$@"
}

echo "== openapi-spec-validator"
python3 -c 'import openapi_spec_validator' 2>/dev/null || pip_install openapi-spec-validator
python3 -m openapi_spec_validator "$doc"

cd "$here"
if [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/redocly ] || [ ! -x node_modules/.bin/openapi-typescript ]; then
  echo "== installing the npm tools (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "== Redocly lint (recommended)"
NO_UPDATE_NOTIFIER=1 REDOCLY_TELEMETRY=off node_modules/.bin/redocly lint "$doc" \
  --config "$here/redocly.yaml" --format summary 2>&1 | grep -v -e '^\s*$' -e '║' -e '╔' -e '╚'

echo "== TypeScript: openapi-typescript, then tsc --strict"
# A request field with a default (a ticket's priority) stays optional, as the server takes it.
node_modules/.bin/openapi-typescript "$doc" -o "$work/escalated.ts" --default-non-nullable false >/dev/null
cp "$here/example.ts" "$work/example.ts"
node_modules/.bin/tsc --strict --noEmit --target es2022 --module es2022 --moduleResolution bundler \
  --lib es2022,dom "$work/example.ts" "$work/escalated.ts"

echo "== Python: openapi-python-client against a live server"
command -v openapi-python-client >/dev/null || pip_install openapi-python-client
openapi-python-client generate --path "$doc" --output-path "$work/python/escalated_client" --meta none \
  --overwrite >"$work/generate.log" 2>&1 || { cat "$work/generate.log"; exit 1; }
# The one operation a Python client is not expected to call: the MTA's raw message/rfc822
# delivery to POST /inbound/email. Any other warning is a defect of the document.
if grep -i -e warning -e error "$work/generate.log" | grep -v -q \
  -e 'Warning(s) encountered while generating' -e 'WARNING parsing POST /inbound/email'; then
  echo "openapi-python-client could not read all of the document:"
  cat "$work/generate.log"
  exit 1
fi

# openapi-python-client 0.29.1 annotates a required body of several media types (create and
# reply take JSON or a form) with `Unset` without importing it (upstream issue #1451, fix in
# PR #1478). Until a release has the fix, add the import to the files it forgot.
grep -l -r ' Unset = UNSET' "$work/python/escalated_client/api" | while read -r file; do
  grep -q 'import.*\bUnset\b' "$file" ||
    sed -i 's/^from \.\.\.types import UNSET, Response$/from ...types import UNSET, Response, Unset/' "$file"
done

cd "$root"
cargo build -q -p escalated
bin="${CARGO_TARGET_DIR:-$root/target}/debug/escalated"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export ESCALATED_DATABASE__URL="sqlite://$work/escalated.db?mode=rwc"
export ESCALATED_SERVER__BIND="127.0.0.1:$port"
export ESCALATED_ATTACHMENTS__STORE="file://$work/attachments"
"$bin" user create --name "Client Admin" --email client.admin@example.com --role admin >/dev/null
token="$("$bin" token create --user client.admin@example.com --name clients --abilities '*' | tail -n 1)"
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null -X POST -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/support/api/v1/auth/validate" && break
  sleep 0.1
done
PYTHONPATH="$work/python" python3 "$here/drive.py" "http://127.0.0.1:$port/support/api/v1" "$token" ||
  { echo "-- server log:"; tail -n 30 "$work/server.log"; exit 1; }
