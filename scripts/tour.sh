#!/bin/sh
# Install crmcli (scripts/install.sh) and take a short tour on a throw-away database:
# nothing here touches your own database, keyring or configuration.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
TOUR=$(mktemp -d "${TMPDIR:-/tmp}/crmcli-tour.XXXXXX")
export CRMCLI_DB="$TOUR/tour.db" CRMCLI_CONFIG_DIR="$TOUR/config"
export PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring COLUMNS="${COLUMNS:-110}"
PATH="$PWD/.venv/bin:$PATH"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step crmcli init
step crmcli add 张伟 --company 深圳某某科技有限公司 --phone "+86 138-1234-5678" \
    --email zhang.wei@example.com --status 意向客户 --grade A --tag vip --city 深圳 --next today
step crmcli add "John Smith" --company "Acme Inc." --phone "(415) 555-0134" --status prospect
step crmcli add 張偉 --phone 13812345678 --note "met at the Shenzhen fair"
step crmcli search zw
step crmcli search "Jonh Smtih"
step crmcli search 5678
step crmcli log 1 "Called about the Q3 order" --channel call --next +3d
step crmcli log "John Smith" "Sent the price list" --channel email --next tomorrow
step crmcli show 1
step crmcli followups --within 7
step crmcli search --format csv
printf '\nThe tour database is in %s; delete it when you are done.\n' "$TOUR"
