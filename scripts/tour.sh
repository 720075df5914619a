#!/bin/sh
# Install crmcli (scripts/install.sh) and take a tour on the example workbooks in examples/,
# with a throw-away database, key and config directory: nothing here touches your own data.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
TOUR=$(mktemp -d "${TMPDIR:-/tmp}/crmcli-tour.XXXXXX")
export CRMCLI_DB="$TOUR/tour.db" CRMCLI_CONFIG_DIR="$TOUR/config"
export PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring COLUMNS="${COLUMNS:-110}"
PATH="$PWD/.venv/bin:$PATH"

step() {
    printf '\n\033[1m$ %s\033[0m\n' "$*"
    "$@" || printf '(exit %s)\n' "$?"
}

# A new database; then the messy workbooks: title rows, phones as Excel floats, five date
# formats, an ID-card column (dropped), a bank card in the notes (rejected), duplicates.
step crmcli init
step crmcli import examples/客户信息登记表.xlsx --rejects "$TOUR/rejects-zh.xlsx"
step crmcli import examples/customers-en.xlsx --rejects "$TOUR/rejects-en.xlsx"
step crmcli import examples/customers-en.xlsx --rejects "$TOUR/rejects-en.xlsx" --dry-run

# Finding people: a fragment, pinyin initials, a typo, the last four digits of a phone.
step crmcli search 伟
step crmcli search zw
step crmcli search "Robret Smtih"
step crmcli search 5678 --limit 5

# The same customer entered twice: find, merge (undoably), look at the journal.
step crmcli dedupe
step crmcli dedupe --merge-likely --yes
step crmcli merges

# The everyday: log a call, see the whole history, who to call.
step crmcli log 张伟 "电话沟通报价，客户希望月底前签约" --channel 电话 --next +3d
step crmcli show 张伟
step crmcli add "Mei Chen" --company "Acme Inc." --phone "(415) 555-0199" --next today
step crmcli followups --within 7

# Reports and the overview; what a cron job would mail.
step crmcli stale --days 365
step crmcli stale --days 365 --format csv --fail-if-any
step crmcli stats

# Out again: a clean workbook, and the one-off cleanup that never touches the database.
step crmcli export "$TOUR/customers.xlsx" --labels zh
step crmcli clean examples/客户信息登记表.xlsx -o "$TOUR/cleaned.xlsx"
step crmcli history --limit 8
step crmcli backup "$TOUR/backup.db"

printf '\nEverything the tour made is in %s (delete it when you are done).\n' "$TOUR"
