# Sourced by the bench scripts that run the release server on a fresh SQLite store: picks the
# binary (GATEWAY_BIN, else builds target/release/hbpc-gateway), makes $out, stops the server
# ($pid) and removes $out on exit, and creates the store with PAGE_SIZE when asked.
bin="${GATEWAY_BIN:-./target/release/hbpc-gateway}" # GATEWAY_BIN: another build, e.g. a baseline
[ -n "${GATEWAY_BIN:-}" ] || cargo build --release --locked --bin hbpc-gateway
out="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT

if [ -n "${PAGE_SIZE:-}" ]; then # an experiment: the store created with another page size
  python3 - "$out" "$PAGE_SIZE" <<'PY'
import sqlite3, sys
for name in ("hbpc.sqlite", "hbpc-audit.sqlite"):
    c = sqlite3.connect(f"{sys.argv[1]}/{name}")
    c.execute(f"PRAGMA page_size = {int(sys.argv[2])}")
    c.execute("VACUUM")
    c.close()
PY
fi
