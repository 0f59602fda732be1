#!/usr/bin/env bash
# The main job: installs what is missing, builds, then runs a full sync of 3,000 sample
# learners into the local Foundry simulator through the CLI, with progress and the report.
# The reference walkthrough (MISSION.md) follows, planned as a table.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

node js/demo/main.js

src=examples/walkthrough/source.csv
tgt=examples/walkthrough/foundry-users.json
printf '\n\033[1mThe reference walkthrough (MISSION.md), planned for Foundry:\033[0m\n\n'
node js/cli/learner-sync.js plan --platform foundry --source "$src" --target "$tgt" --format table
