# Sourced by the bench scripts that run the release server on a fresh SQLite store: picks the
# binary (GATEWAY_BIN, else builds target/release/hbpc-gateway), makes $out, stops the server
# ($pid) and removes $out on exit, and creates the store with PAGE_SIZE when asked;
# start_gateway starts the server on $port over that store.
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

# Starts the gateway on $port over the store in $out, behind the command in "$@" if any (a
# profiler), sets $pid and waits until it answers /readyz (at most 60 s: valgrind starts slowly).
start_gateway() {
  HBPC_SERVER_LISTEN="127.0.0.1:$port" HBPC_DATABASE_URL="sqlite://$out/hbpc.sqlite" HBPC_LOG_LEVEL=warn \
    "$@" "$bin" serve >"$out/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
}
