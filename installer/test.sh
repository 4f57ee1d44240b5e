#!/usr/bin/env bash
# Tests for installer/install.sh (and shellcheck over every shell script in the repo).
#
#   cargo build --workspace && installer/test.sh
#
# Each scenario runs the installer under `sh` (dash on Debian) or bash in its own temporary
# HOME with `env -i`, so nothing of the caller's shell, config, keyring or PATH leaks in.
# Binaries come from the debug build (${CARGO_TARGET_DIR:-target}/debug). One line per check;
# the last line is "N passed, M failed"; exit 1 when anything failed.
#
# Env: GW_TEST_FROM_SOURCE=0 skips the from-source (cargo) scenario;
#      GW_TEST_KEEP=1 keeps the work directory.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$(pwd)/$target ;; esac
install_sh=$root/installer/install.sh

W=$(mktemp -d "${TMPDIR:-/tmp}/gw-installer-test.XXXXXX")
idp_pid=
cleanup() {
	exec 3>&-
	if [ -n "$idp_pid" ]; then kill "$idp_pid" 2>/dev/null || true; fi
	if [ "${GW_TEST_KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	printf 'ok   %s\n' "$1"
}
bad() { # DESC [FILE whose tail explains]
	failed=$((failed + 1))
	printf 'FAIL %s\n' "$1"
	if [ $# -ge 2 ] && [ -f "$2" ]; then sed 's/^/     | /' "$2" | tail -n 25; fi
}
# check DESC CMD...: passes when CMD succeeds; its output is shown on failure.
check() {
	local desc=$1
	shift
	if "$@" >"$W/check.out" 2>&1; then ok "$desc"; else bad "$desc" "$W/check.out"; fi
}
contains() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qF -- "$2" "$1"; }
count_is() { [ "$(grep -cxF -- "$2" "$1")" = "$3" ]; }
same() { cmp "$1" "$2"; }
absent() { [ ! -e "$1" ]; }
section() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# ---------------------------------------------------------------- binaries --

section "binaries from $target/debug"
dist=$W/dist/gw-0.1.0-linux
mkdir -p "$dist"
if [ ! -x "$target/debug/gw" ]; then
	bad "gw is built (run cargo build --workspace first)"
	printf '%s passed, %s failed\n' "$passed" "$failed"
	exit 1
fi
# Stripped copies: the same code, an eighth of the bytes to copy in every scenario.
for b in gw gw-admin; do
	if [ -x "$target/debug/$b" ]; then
		strip -o "$dist/$b" "$target/debug/$b" 2>/dev/null || cp "$target/debug/$b" "$dist/$b"
	fi
done
if [ ! -x "$dist/gw-admin" ]; then
	# Only here, in the test harness: gw-admin may be mid-rewrite and not build.
	echo "note: $target/debug/gw-admin is missing; the tests use a stub gw-admin"
	printf '#!/bin/sh\necho "gw-admin 0.0.0 (test stub)"\n' >"$dist/gw-admin"
	chmod 755 "$dist/gw-admin"
fi
tar -czf "$W/dist.tar.gz" -C "$W/dist" gw-0.1.0-linux
check "a .tar.gz of gw-0.1.0-linux/{gw,gw-admin} is made for --from" test -s "$W/dist.tar.gz"

# A fresh HOME for scenario NAME; prints its path.
new_home() {
	local h=$W/$1
	mkdir -p "$h"
	printf '%s\n' "$h"
}
# Run the installer in HOME $1 (env -i); output in $W/last.out, exit code in $rc.
# INSTALL_SHELL (sh), INSTALL_PATH_EXTRA, USER_SHELL (/bin/bash), EXTRA_ENV (array) adjust it.
rc=0
EXTRA_ENV=()
run_install() {
	local h=$1
	shift
	rc=0
	env -i HOME="$h" PATH="${INSTALL_PATH_EXTRA-$h/.local/bin:}/usr/local/bin:/usr/bin:/bin" \
		SHELL="${USER_SHELL:-/bin/bash}" LANG=C.UTF-8 TMPDIR="$W" "${EXTRA_ENV[@]}" \
		"${INSTALL_SHELL:-sh}" "$install_sh" "$@" </dev/null >"$W/last.out" 2>&1 3>&- || rc=$?
}
# Run a command in HOME $1 the way a user's new terminal would (bin on PATH).
in_home() {
	local h=$1
	shift
	env -i HOME="$h" PATH="$h/.local/bin:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 TERM=dumb "$@"
}
# Snapshot of every file under HOME except binaries and gw's own state (for byte compares).
snapshot() { # HOME DEST
	rm -rf "$2"
	mkdir -p "$2"
	(cd "$1" && find . -path ./.local/bin -prune -o -path ./.local/state -prune -o -type f -print | sort) >"$2.list"
	(cd "$1" && tar -cf - -T "$2.list") | (cd "$2" && tar -xf -)
}
rc_is() { [ "$rc" = "$1" ]; }

HOST=https://adb-1234567890123456.7.azuredatabricks.net
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
CLIENT=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
MODEL=databricks-claude-opus-4-8
BEGIN='# >>> gw >>>'
ALIAS="alias claude-db='gw claude'"

# -------------------------------------------- 1: flags, bash user, --from dir --

section "non-interactive install from a directory (bash user with bash, zsh and fish set up)"
t0=$(now)
h=$(new_home flags)
printf '# ~/.bashrc of a test user\nexport EDITOR=vi\nalias ll='"'"'ls -l'"'"'\n\n' >"$h/.bashrc"
printf '# ~/.zshrc with no newline at its end\nsetopt no_beep' >"$h/.zshrc"
mkdir -p "$h/.local/share" "$h/.zfunc" "$h/.config/fish"
snapshot "$h" "$W/flags.orig"

INSTALL_PATH_EXTRA="" run_install "$h" --from "$W/dist" --host "$HOST" --tenant-id "$TENANT" \
	--client-id "$CLIENT" --model "$MODEL" --non-interactive
cp "$W/last.out" "$W/flags.run1.out"
check "first run exits 0" rc_is 0
check "gw and gw-admin are in ~/.local/bin and run" \
	in_home "$h" sh -c 'gw --version && gw-admin --version'
check "the installed binaries are the ones given with --from" same "$dist/gw" "$h/.local/bin/gw"
check "claude-db is a link to gw (the IDE extensions' process wrapper)" \
	sh -c "[ \"\$(readlink '$h/.local/bin/claude-db')\" = gw ]"
# shellcheck disable=SC2016 # the literal line the installer prints
check "it warns that ~/.local/bin is not on PATH and gives the line to add" \
	contains "$W/flags.run1.out" 'export PATH="$HOME/.local/bin:$PATH"'
cfg=$h/.config/gw/config.toml
check "gw config path is ~/.config/gw/config.toml" \
	test "$(in_home "$h" gw config path)" = "$cfg"
check "the config has the flags' values" \
	sh -c "grep -qxF 'databricks_host = \"$HOST\"' '$cfg' && grep -qxF 'tenant_id = \"$TENANT\"' '$cfg' \
		&& grep -qxF 'client_id = \"$CLIENT\"' '$cfg' && grep -qxF 'model = \"$MODEL\"' '$cfg'"
check "the config parses (gw doctor --offline --json: ok)" \
	sh -c "env -i HOME='$h' PATH=/usr/bin:/bin GW_TOKEN_STORE=file '$h/.local/bin/gw' doctor --offline --json | grep -q '\"ok\":true'"
check "gw doctor ran during the install" grep -qE '^ok +config' "$W/flags.run1.out"
check "the alias block is in ~/.bashrc once" count_is "$h/.bashrc" "$BEGIN" 1
check "the alias block is in ~/.zshrc once" count_is "$h/.zshrc" "$BEGIN" 1
check "the fish function exists" test -f "$h/.config/fish/functions/claude-db.fish"
check "bash completions in ~/.local/share/bash-completion/completions/gw" \
	test -s "$h/.local/share/bash-completion/completions/gw"
check "zsh completions in ~/.zfunc/_gw" test -s "$h/.zfunc/_gw"
check "fish completions in ~/.config/fish/completions/gw.fish" test -s "$h/.config/fish/completions/gw.fish"
snapshot "$h" "$W/flags.run1"

run_install "$h" --from "$W/dist" --host "$HOST" --tenant-id "$TENANT" \
	--client-id "$CLIENT" --model "$MODEL" --non-interactive
cp "$W/last.out" "$W/flags.run2.out"
check "second run exits 0" rc_is 0
check "second run: no warning about PATH once ~/.local/bin is on it" lacks "$W/flags.run2.out" "not on your PATH"
check "second run: the existing config is left as is" contains "$W/flags.run2.out" "exists; left as is"
check "second run: ~/.bashrc is byte-identical" same "$W/flags.run1/.bashrc" "$h/.bashrc"
check "second run: ~/.zshrc is byte-identical" same "$W/flags.run1/.zshrc" "$h/.zshrc"
check "second run: no file under HOME changed (rc files, fish, completions, config)" \
	sh -c "cd '$W/flags.run1' && find . -type f | sort >'$W/l1' && cd '$h' && find . -path ./.local/bin -prune -o -path ./.local/state -prune -o -type f -print | sort >'$W/l2' && cmp '$W/l1' '$W/l2' && while read -r f; do cmp \"$W/flags.run1/\$f\" \"$h/\$f\" || exit 1; done <'$W/l1'"
check "the alias block is still in ~/.bashrc once after two runs" count_is "$h/.bashrc" "$BEGIN" 1
check "the alias line is in ~/.bashrc once after two runs" count_is "$h/.bashrc" "$ALIAS" 1

check "bash -ic 'type claude-db' resolves to the alias" \
	sh -c "env -i HOME='$h' PATH='$h/.local/bin:/usr/bin:/bin' TERM=dumb bash -ic 'type claude-db' </dev/null 2>/dev/null | grep -qF \"claude-db is aliased to \\\`gw claude'\""
check "bash -ic 'type -P gw' finds the installed gw" \
	sh -c "env -i HOME='$h' PATH='$h/.local/bin:/usr/bin:/bin' TERM=dumb bash -ic 'type -P gw' </dev/null 2>/dev/null | grep -qxF '$h/.local/bin/gw'"
if command -v zsh >/dev/null; then
	check "zsh -ic 'whence -w claude-db' is an alias" \
		sh -c "env -i HOME='$h' PATH='$h/.local/bin:/usr/bin:/bin' TERM=dumb zsh -ic 'whence -w claude-db' </dev/null 2>/dev/null | grep -qxF 'claude-db: alias'"
	check "zsh loads the completions from ~/.zfunc" \
		sh -c "env -i HOME='$h' PATH='$h/.local/bin:/usr/bin:/bin' zsh -fc 'fpath=(\$HOME/.zfunc \$fpath); autoload -Uz compinit; compinit -u -d \$HOME/.zcompdump; [[ \$_comps[gw] == _gw ]]'"
else
	echo "note: zsh is not installed; its checks are skipped"
fi
check "bash loads the completions (complete -p gw)" \
	in_home "$h" bash -c 'source ~/.local/share/bash-completion/completions/gw && complete -p gw'
if command -v fish >/dev/null; then
	check "fish knows the claude-db function" in_home "$h" fish -c 'functions -q claude-db'
	check "fish completes 'gw con' to config" \
		sh -c "env -i HOME='$h' PATH='$h/.local/bin:/usr/bin:/bin' fish -c 'complete -C\"gw con\"' | grep -q '^config'"
else
	echo "note: fish is not installed; its checks are skipped"
fi

run_install "$h" --uninstall
cp "$W/last.out" "$W/flags.uninstall.out"
check "--uninstall exits 0" rc_is 0
check "--uninstall restores ~/.bashrc byte for byte" same "$W/flags.orig/.bashrc" "$h/.bashrc"
check "--uninstall restores ~/.zshrc byte for byte (no newline at its end, as before)" \
	same "$W/flags.orig/.zshrc" "$h/.zshrc"
check "--uninstall removes gw and gw-admin" sh -c "[ ! -e '$h/.local/bin/gw' ] && [ ! -e '$h/.local/bin/gw-admin' ]"
check "--uninstall removes the claude-db link" sh -c "[ ! -e '$h/.local/bin/claude-db' ] && [ ! -L '$h/.local/bin/claude-db' ]"
check "--uninstall removes the fish function and every completion file" \
	sh -c "[ ! -e '$h/.config/fish/functions/claude-db.fish' ] && [ ! -e '$h/.zfunc/_gw' ] \
		&& [ ! -e '$h/.config/fish/completions/gw.fish' ] && [ ! -e '$h/.local/share/bash-completion/completions/gw' ]"
check "--uninstall keeps the config (no --purge)" test -f "$cfg"
check "after --uninstall, bash -ic 'type claude-db' finds nothing" \
	sh -c "! env -i HOME='$h' PATH=/usr/bin:/bin TERM=dumb bash -ic 'type claude-db' </dev/null >/dev/null 2>&1"
echo "     ($(elapsed "$t0"))"

# ---------------------------------- 2: archive, zsh user, no rc files, purge --

section "install from a .tar.gz under bash for a zsh user with no startup files; --purge"
t0=$(now)
h=$(new_home archive)
EXTRA_ENV=(PREFIX="$h/opt")
USER_SHELL=/usr/bin/zsh INSTALL_SHELL=bash run_install "$h" --from "$W/dist.tar.gz" --host http://127.0.0.1:9 \
	--issuer http://127.0.0.1:9/idp --client-id gw-test --non-interactive
cp "$W/last.out" "$W/archive.run1.out"
check "install from the archive exits 0" rc_is 0
check "PREFIX=~/opt puts the binaries in ~/opt/bin" \
	sh -c "'$h/opt/bin/gw' --version && '$h/opt/bin/gw-admin' --version"
check "nothing goes to ~/.local/bin when PREFIX is set" absent "$h/.local/bin/gw"
check "the zsh user's ~/.zshrc is created with the block" count_is "$h/.zshrc" "$ALIAS" 1
check "no ~/.bashrc is created for a zsh user" absent "$h/.bashrc"
check "no fish function without fish" absent "$h/.config/fish"
check "no completions where no completion dir exists" \
	sh -c "[ ! -e '$h/.local/share/bash-completion' ] && [ ! -e '$h/.zfunc' ]"
check "it says how to get zsh completions" contains "$W/archive.run1.out" "mkdir $h/.zfunc"
check "the oidc config parses" \
	sh -c "env -i HOME='$h' GW_TOKEN_STORE=file '$h/opt/bin/gw' doctor --offline --json | grep -q '\"ok\":true'"
cp "$h/.zshrc" "$W/archive.zshrc"
USER_SHELL=/usr/bin/zsh run_install "$h" --from "$W/dist.tar.gz" --non-interactive
EXTRA_ENV=()
check "second run exits 0 and leaves ~/.zshrc byte-identical" \
	sh -c "[ $rc = 0 ] && cmp '$W/archive.zshrc' '$h/.zshrc'"
mkdir -p "$h/.local/state/gw/tokens" "$h/.cache/gw"
echo "stand-in" >"$h/.cache/gw/discovery.json"
USER_SHELL=/usr/bin/zsh run_install "$h" --prefix "$h/opt" --uninstall --purge
cp "$W/last.out" "$W/archive.purge.out"
check "--uninstall --purge exits 0" rc_is 0
check "--purge signs out of the profile first (gw logout)" contains "$W/archive.purge.out" "Profile \`default\`"
check "--purge removes the config" absent "$h/.config/gw/config.toml"
check "--purge removes the tokens dir and the discovery cache" \
	sh -c "[ ! -e '$h/.local/state/gw' ] && [ ! -e '$h/.cache/gw' ]"
check "--uninstall deletes the ~/.zshrc it had created" absent "$h/.zshrc"
check "--uninstall removes the binaries from --prefix" absent "$h/opt/bin/gw"
echo "     ($(elapsed "$t0"))"

# ------------------- 2b: a real sign-in at the test IdP, then --purge signs out --

section "signed in at the test IdP, then --uninstall --purge"
t0=$(now)
if command -v node >/dev/null && [ -d "$root/tests/idp/node_modules" ]; then
	mkfifo "$W/idp.in"
	node "$root/tests/idp/server.mjs" <"$W/idp.in" >"$W/idp.out" 2>"$W/idp.err" &
	idp_pid=$!
	exec 3>"$W/idp.in"
	for _ in $(seq 1 200); do
		grep -q '}' "$W/idp.out" 2>/dev/null && break
		sleep 0.1
	done
	issuer=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$W/idp.out")
	workspace=$(sed -n 's/.*"workspace":"\([^"]*\)".*/\1/p' "$W/idp.out")
	h=$(new_home signed-in)
	touch "$h/.bashrc"
	run_install "$h" --from "$W/dist" --host "$workspace" --issuer "$issuer" --client-id gw-test --non-interactive
	check "install against the test IdP exits 0" rc_is 0
	check "gw doctor's network checks pass against the test IdP" \
		sh -c "grep -qE '^ok +idp' '$W/last.out' && grep -qE '^ok +workspace' '$W/last.out'"
	check "gw login works with the installed binary and config" \
		sh -c "env -i HOME='$h' PATH='$h/.local/bin:/usr/bin:/bin' BROWSER='$root/tests/idp/browser.mjs' GW_LOGIN_TIMEOUT=30 gw login </dev/null 3>&-"
	check "tokens are stored (file store: no keyring here)" \
		sh -c "ls '$h/.local/state/gw/tokens/' | grep -q json"
	run_install "$h" --uninstall --purge
	cp "$W/last.out" "$W/signed-in.purge.out"
	check "--purge signs out of the profile (gw logout removed its tokens)" \
		contains "$W/signed-in.purge.out" "Signed out of profile"
	check "--purge leaves no token, config or cache behind" \
		sh -c "[ ! -e '$h/.local/state/gw' ] && [ ! -e '$h/.cache/gw' ] && [ ! -e '$h/.config/gw' ]"
	check "--uninstall restores the empty ~/.bashrc (it existed, so it stays)" \
		sh -c "[ -f '$h/.bashrc' ] && [ ! -s '$h/.bashrc' ]"
	exec 3>&-
	wait "$idp_pid" 2>/dev/null || true
	idp_pid=
else
	echo "note: node or tests/idp/node_modules is missing (cd tests/idp && npm ci); skipped"
fi
echo "     ($(elapsed "$t0"))"

# -------------------------------------------------- 3: edge cases, refusals --

section "edge cases"
t0=$(now)
h=$(new_home noalias)
printf 'export A=1\n' >"$h/.bashrc"
cp "$h/.bashrc" "$W/noalias.bashrc"
run_install "$h" --from "$W/dist" --no-alias --non-interactive
check "--no-alias: exits 0 without a config (no --host, no terminal) and says so" \
	sh -c "[ $rc = 0 ] && grep -qF 'no config written' '$W/last.out'"
check "--no-alias leaves ~/.bashrc alone" same "$W/noalias.bashrc" "$h/.bashrc"
check "no --host and no terminal: no config is written" absent "$h/.config/gw/config.toml"

h=$(new_home keep)
mkdir -p "$h/.config/gw"
printf 'default_profile = "mine"\n\n[profiles.mine]\ndatabricks_host = "https://dbc-1.cloud.databricks.com"\n\n[profiles.mine.idp]\nkind = "databricks"\n' >"$h/.config/gw/config.toml"
cp "$h/.config/gw/config.toml" "$W/keep.toml"
run_install "$h" --from "$W/dist" --host "$HOST" --tenant-id "$TENANT" --client-id "$CLIENT" --non-interactive
check "an existing config is kept byte for byte, with a warning about the ignored flags" \
	sh -c "[ $rc = 0 ] && cmp '$W/keep.toml' '$h/.config/gw/config.toml' && grep -qF 'ignored --host' '$W/last.out'"

h=$(new_home invalid)
run_install "$h" --from "$W/dist" --host http://10.1.2.3 --non-interactive
check "a non-loopback http:// host is refused (exit 2), nothing written" \
	sh -c "[ $rc = 2 ] && [ ! -e '$h/.config/gw/config.toml' ] && grep -qF 'databricks_host' '$W/last.out'"
run_install "$h" --from "$W/dist" --host "$HOST" --tenant-id not-a-guid --client-id c --non-interactive
check "a tenant id that is not a GUID is refused (exit 2), nothing written" \
	sh -c "[ $rc = 2 ] && [ ! -e '$h/.config/gw/config.toml' ]"

h=$(new_home gwconfig)
EXTRA_ENV=(GW_CONFIG="$h/team/gw.toml")
run_install "$h" --from "$W/dist" --host "$HOST" --non-interactive
EXTRA_ENV=()
check "GW_CONFIG decides where the config goes (gw config path owns the path)" \
	sh -c "[ $rc = 0 ] && grep -qF 'kind = \"databricks\"' '$h/team/gw.toml' && [ ! -e '$h/.config/gw' ]"

h=$(new_home noeol-bash)
printf 'export B=2' >"$h/.bashrc"
cp "$h/.bashrc" "$W/noeol.bashrc"
run_install "$h" --from "$W/dist" --non-interactive
printf '# the user added this after the block\n' >>"$h/.bashrc"
cp "$h/.bashrc" "$W/noeol.edited"
run_install "$h" --from "$W/dist" --non-interactive
check "a line the user added after the block survives a re-run" same "$W/noeol.edited" "$h/.bashrc"
run_install "$h" --uninstall
check "--uninstall keeps the user's later line and removes only the block" \
	sh -c "printf 'export B=2\n# the user added this after the block\n' | cmp - '$h/.bashrc'"

h=$(new_home symlink)
mkdir -p "$h/dotfiles"
printf 'export C=3\n' >"$h/dotfiles/bashrc"
cp "$h/dotfiles/bashrc" "$W/symlink.bashrc"
ln -s dotfiles/bashrc "$h/.bashrc"
run_install "$h" --from "$W/dist" --non-interactive
check "a symlinked ~/.bashrc stays a symlink; the block goes into its target" \
	sh -c "[ -L '$h/.bashrc' ] && grep -qxF \"$ALIAS\" '$h/dotfiles/bashrc'"
run_install "$h" --uninstall
check "--uninstall restores the symlink's target byte for byte" \
	sh -c "[ -L '$h/.bashrc' ] && cmp '$W/symlink.bashrc' '$h/dotfiles/bashrc'"

h=$(new_home oldblock)
printf 'export D=4\n# >>> gw >>>\n# an older block\nalias claude-db='"'"'gw claude --old'"'"'\n# <<< gw <<<\nexport E=5\n' >"$h/.bashrc"
run_install "$h" --from "$W/dist" --non-interactive
check "an older block is rewritten in place: one block, the current alias, the lines around it kept" \
	sh -c "[ $rc = 0 ] && [ \$(grep -cxF '$BEGIN' '$h/.bashrc') = 1 ] && grep -qxF \"$ALIAS\" '$h/.bashrc' \
		&& ! grep -qF -- '--old' '$h/.bashrc' && head -n 1 '$h/.bashrc' | grep -qxF 'export D=4' \
		&& tail -n 1 '$h/.bashrc' | grep -qxF 'export E=5'"
run_install "$h" --uninstall
check "--uninstall then leaves only the user's lines" \
	sh -c "printf 'export D=4\nexport E=5\n' | cmp - '$h/.bashrc'"

h=$(new_home noend)
printf 'export F=6\n# >>> gw >>>\nalias claude-db=x\nexport G=7\n' >"$h/.bashrc"
cp "$h/.bashrc" "$W/noend.bashrc"
run_install "$h" --from "$W/dist" --non-interactive
check "a block with no end line: exit 1 naming it, the file untouched" \
	sh -c "[ $rc = 1 ] && grep -qF 'no end line' '$W/last.out' && cmp '$W/noend.bashrc' '$h/.bashrc'"

if command -v fish >/dev/null; then
	h=$(new_home fish-user)
	USER_SHELL=/usr/bin/fish run_install "$h" --from "$W/dist" --non-interactive
	check "a fish user with no ~/.config/fish yet gets the function and completions" \
		sh -c "[ $rc = 0 ] && [ -f '$h/.config/fish/functions/claude-db.fish' ] && [ -f '$h/.config/fish/completions/gw.fish' ] && [ ! -e '$h/.bashrc' ]"
	check "fish runs claude-db as gw claude (gw on PATH)" \
		sh -c "env -i HOME='$h' PATH='$h/.local/bin:/usr/bin:/bin' fish -c 'functions claude-db' | grep -qF 'gw claude \$argv'"
	USER_SHELL=/usr/bin/fish run_install "$h" --uninstall
	check "--uninstall removes the fish function and completions" \
		sh -c "[ $rc = 0 ] && [ ! -e '$h/.config/fish/functions/claude-db.fish' ] && [ ! -e '$h/.config/fish/completions/gw.fish' ]"
fi

h=$(new_home bundled)
mkdir -p "$W/bundle/gw-0.1.0/bin"
cp "$install_sh" "$W/bundle/gw-0.1.0/install.sh"
cp "$dist/gw" "$dist/gw-admin" "$W/bundle/gw-0.1.0/bin/"
rc=0
env -i HOME="$h" PATH=/usr/bin:/bin SHELL=/bin/bash TMPDIR="$W" sh "$W/bundle/gw-0.1.0/install.sh" \
	--non-interactive </dev/null >"$W/last.out" 2>&1 3>&- || rc=$?
check "a release archive's own install.sh takes the gw and gw-admin beside it (no --from, no cargo)" \
	sh -c "[ $rc = 0 ] && cmp '$dist/gw' '$h/.local/bin/gw' && cmp '$dist/gw-admin' '$h/.local/bin/gw-admin'"

h=$(new_home refusals)
mkdir -p "$W/admin-missing"
cp "$dist/gw" "$W/admin-missing/gw"
run_install "$h" --from "$W/admin-missing" --non-interactive
check "--from a directory without gw-admin: exit 1 naming it" \
	sh -c "[ $rc = 1 ] && grep -qF 'no gw-admin' '$W/last.out' && [ ! -e '$h/.local/bin/gw' ]"
run_install "$h" --from "$W/nowhere.tar.gz" --non-interactive
check "--from a path that does not exist: exit 1" sh -c "[ $rc = 1 ] && grep -qF 'no such file' '$W/last.out'"
run_install "$h" --frobnicate
check "an unknown option: exit 2 with a hint" sh -c "[ $rc = 2 ] && grep -qF 'hint:' '$W/last.out'"
run_install "$h" --purge
check "--purge without --uninstall: exit 2" rc_is 2
run_install "$h" --help
check "--help shows the usage" sh -c "[ $rc = 0 ] && grep -qF 'Usage: installer/install.sh' '$W/last.out'"
# Another platform, played by stubs of uname and xattr first on PATH.
fake_os() { # NAME UNAME_S QUARANTINED(0/1)
	local d=$W/fake-$1
	mkdir -p "$d"
	# shellcheck disable=SC2016 # the stubs' own $1 and $2
	printf '#!/bin/sh\ncase "$1" in -s) echo %s ;; -m) echo arm64 ;; *) echo %s ;; esac\n' "$2" "$2" >"$d/uname"
	if [ "$3" = 1 ]; then
		# shellcheck disable=SC2016
		printf '#!/bin/sh\n[ "$1" = -p ] && [ "$2" = com.apple.quarantine ] && echo "0083;00000000;Safari;" && exit 0\nexit 1\n' >"$d/xattr"
	else
		printf '#!/bin/sh\nexit 1\n' >"$d/xattr"
	fi
	chmod +x "$d/uname" "$d/xattr"
	printf '%s:' "$d"
}
h=$(new_home quarantine)
INSTALL_PATH_EXTRA=$(fake_os mac-dl Darwin 1) run_install "$h" --from "$W/dist" --non-interactive
check "macOS: a quarantined download is refused before it is installed, with the xattr command to run" \
	sh -c "[ $rc = 1 ] && grep -qF 'quarantined' '$W/last.out' && grep -qF 'xattr -d com.apple.quarantine' '$W/last.out' && [ ! -e '$h/.local/bin/gw' ]"
INSTALL_PATH_EXTRA=$(fake_os mac-ok Darwin 0) run_install "$h" --from "$W/dist" --non-interactive --no-alias
check "macOS: binaries without the quarantine flag install" sh -c "[ $rc = 0 ] && [ -x '$h/.local/bin/gw' ]"
INSTALL_PATH_EXTRA=$(fake_os win MINGW64_NT-10.0 0) run_install "$h" --non-interactive
check "Git Bash on Windows: exit 2 pointing at install.ps1" \
	sh -c "[ $rc = 2 ] && grep -qF 'install.ps1' '$W/last.out'"
mkdir -p "$W/windist"
cp "$dist/gw" "$W/windist/gw.exe"
cp "$dist/gw-admin" "$W/windist/gw-admin.exe"
run_install "$h" --from "$W/windist" --non-interactive
check "--from Windows binaries (gw.exe): exit 1 pointing at install.ps1" \
	sh -c "[ $rc = 1 ] && grep -qF 'install.ps1' '$W/last.out'"
echo "     ($(elapsed "$t0"))"

# ------------------------------------------- 4: interactive, through a pty --

section "interactive: answers typed at the prompts (in a pseudo-terminal) = the same flags"
t0=$(now)
if command -v script >/dev/null; then
	# pty_install HOME ANSWERS ARGS...: the installer in a pty (util-linux script), answers on its input.
	pty_install() {
		local h=$1 answers=$2
		shift 2
		rc=0
		printf '%b' "$answers" | env -i HOME="$h" PATH="$h/.local/bin:/usr/bin:/bin" SHELL=/bin/sh \
			LANG=C.UTF-8 TERM=dumb TMPDIR="$W" \
			timeout 120 script -q -e -c "sh '$install_sh' --from '$W/dist' $*" /dev/null \
			>"$W/last.out" 2>&1 || rc=$?
	}
	a=$(new_home pty-flags-azure)
	run_install "$a" --from "$W/dist" --host "$HOST" --tenant-id "$TENANT" --client-id "$CLIENT" \
		--model "$MODEL" --non-interactive
	b=$(new_home pty-typed-azure)
	pty_install "$b" "$HOST\n\n$TENANT\n$CLIENT\n$MODEL\n"
	cp "$W/last.out" "$W/pty-azure.out"
	check "pty run (all answers typed, azure by default) exits 0" rc_is 0
	check "the prompts were shown (workspace URL, identity provider [azure])" \
		sh -c "grep -qF 'Databricks workspace URL' '$W/pty-azure.out' && grep -qF '[azure]' '$W/pty-azure.out'"
	check "typed answers give the same config as the flags (azure)" \
		same "$a/.config/gw/config.toml" "$b/.config/gw/config.toml"

	a=$(new_home pty-flags-oidc)
	run_install "$a" --from "$W/dist" --host "$HOST" --issuer https://idp.example.com \
		--client-id "$CLIENT" --model databricks-claude-sonnet-4-5 --non-interactive
	b=$(new_home pty-typed-oidc)
	pty_install "$b" "oidc\nhttps://idp.example.com\n$CLIENT\n\n" --host "$HOST"
	cp "$W/last.out" "$W/pty-oidc.out"
	check "pty run with --host given, the rest typed (oidc, default model) exits 0" rc_is 0
	check "it asks only for what the flags did not give" lacks "$W/pty-oidc.out" "Databricks workspace URL"
	check "typed answers give the same config as the flags (oidc, model default)" \
		same "$a/.config/gw/config.toml" "$b/.config/gw/config.toml"

	b=$(new_home pty-retry)
	pty_install "$b" "http://10.0.0.1\n\n\n\n\n$HOST\n\n$TENANT\n$CLIENT\n$MODEL\n"
	check "a refused answer is asked again, and the second try is written" \
		sh -c "[ $rc = 0 ] && grep -qF \"Let's try again\" '$W/last.out' && cmp '$W/pty-flags-azure/.config/gw/config.toml' '$b/.config/gw/config.toml'"
else
	bad "util-linux script is installed (needed for the pty test)"
fi
echo "     ($(elapsed "$t0"))"

# ---------------------------------------------------- 5: built from source --

section "built from this checkout (no --from)"
t0=$(now)
h=$(new_home nocargo)
if env -i PATH=/usr/bin:/bin sh -c 'command -v cargo' >/dev/null; then
	echo "note: cargo is in /usr/bin or /bin; the missing-cargo check is skipped"
else
	INSTALL_PATH_EXTRA="" run_install "$h" --non-interactive
	check "no cargo: exit 1 saying to install Rust or pass --from" \
		sh -c "[ $rc = 1 ] && grep -qF 'cargo is not installed' '$W/last.out' && grep -qF 'rustup.rs' '$W/last.out' && grep -qF -- '--from' '$W/last.out'"
fi
if [ "${GW_TEST_FROM_SOURCE:-1}" = 1 ] && command -v cargo >/dev/null; then
	# The dev profile in the existing target dir: incremental after `cargo build --workspace`.
	h=$(new_home source)
	cargo_bin=$(dirname "$(command -v cargo)")
	t1=$(now)
	EXTRA_ENV=(CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
		CARGO_TARGET_DIR="$target" GW_INSTALL_CARGO_PROFILE=dev)
	INSTALL_PATH_EXTRA="$h/.local/bin:$cargo_bin:" run_install "$h" --non-interactive
	EXTRA_ENV=()
	cp "$W/last.out" "$W/source.out"
	check "from source (cargo build --profile dev, CARGO_TARGET_DIR) exits 0 ($(elapsed "$t1"))" rc_is 0
	check "from source: the installed gw is the one cargo built in CARGO_TARGET_DIR" \
		same "$target/debug/gw" "$h/.local/bin/gw"
	check "from source: gw-admin runs" "$h/.local/bin/gw-admin" --version
fi
echo "     ($(elapsed "$t0"))"

# ------------------------------------------------------------ shellcheck --

section "shellcheck -x on every shell script in the repo"
if command -v shellcheck >/dev/null; then
	n=0
	while IFS= read -r f; do
		case $f in *.sh) ;; *) head -n 1 "$f" | grep -qE '^#!(/usr/bin/env +|/usr/bin/|/bin/)(ba|da)?sh( |$)' || continue ;; esac
		n=$((n + 1))
		check "shellcheck ${f#"$root"/}" sh -c "cd '$(dirname "$f")' && shellcheck -x '$(basename "$f")'"
	done < <(find "$root" \( -name .git -o -name node_modules -o -name target \) -prune -o -type f -print | sort)
	check "found the repo's shell scripts (install.sh, test.sh, .ci/run, scripts/try-local)" test "$n" -ge 4
else
	bad "shellcheck is installed"
fi

printf '\n%s passed, %s failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
