# Sourced by scripts/run.sh: WEB_PORT, FLOWER_PORT and FRONTEND_URL from the shell, else from
# .env in the current directory, else the defaults (8000, 5555, http://127.0.0.1:$WEB_PORT).
dotenv_get() { if [ -f .env ]; then sed -n "s/^$1=//p" .env | tail -1 | tr -d "\"'"; fi; }
WEB_PORT="${WEB_PORT:-$(dotenv_get WEB_PORT)}"
export WEB_PORT="${WEB_PORT:-8000}"
FLOWER_PORT="${FLOWER_PORT:-$(dotenv_get FLOWER_PORT)}"
export FLOWER_PORT="${FLOWER_PORT:-5555}"
FRONTEND_URL="${FRONTEND_URL:-$(dotenv_get FRONTEND_URL)}"
export FRONTEND_URL="${FRONTEND_URL:-http://127.0.0.1:$WEB_PORT}"
