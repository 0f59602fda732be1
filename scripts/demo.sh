#!/usr/bin/env bash
# The main job: installs what is missing, builds, and plans the reference walkthrough
# (MISSION.md) for Foundry, printed as a table; the JSON plan goes to target/walkthrough-plan.json.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

src=examples/walkthrough/source.csv
tgt=examples/walkthrough/foundry-users.json
printf '\n\033[1mPlanning %s against %s (Foundry, match ssoId, orphans reviewed)\033[0m\n\n' "$src" "$tgt"
node js/cli/learner-sync.js plan --platform foundry --source "$src" --target "$tgt" --format table
mkdir -p target
node js/cli/learner-sync.js plan --platform foundry --source "$src" --target "$tgt" > target/walkthrough-plan.json
echo "JSON plan written to target/walkthrough-plan.json"
