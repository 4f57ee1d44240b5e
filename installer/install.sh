#!/bin/sh
# gw installer: puts gw and gw-admin in PREFIX/bin (no sudo), writes a config through
# `gw config init` when there is none, runs `gw doctor`, adds the `claude-db` alias and shell
# completions. Idempotent: a second run changes no byte of any shell startup file.
# POSIX sh (dash, bash, zsh, busybox ash). Run with --help for the options.
set -eu

usage() {
	cat <<'EOF'
Usage: installer/install.sh [OPTIONS]

Installs gw and gw-admin into PREFIX/bin (default ${PREFIX:-$HOME/.local}), writes a gw
config if there is none (through `gw config init`), checks it with `gw doctor`, and adds
`alias claude-db='gw claude'` (bash, zsh; a fish function) and shell completions.

Where the binaries come from:
  --from DIR_OR_ARCHIVE   prebuilt gw and gw-admin: a directory (or its bin/ or one
                          subdirectory) or a .tar.gz/.tgz/.tar.xz/.tar/.zip of one; no cargo needed
  (no --from)             gw and gw-admin next to this script (or in its bin/), as in
                          a release archive; else built from this checkout:
                          cargo build --release --locked (honours CARGO_TARGET_DIR)

Options:
  --prefix DIR            install into DIR/bin (default: $PREFIX, else ~/.local)
  --host URL              Databricks workspace URL          \
  --tenant-id T           Entra ID directory (tenant) ID     | passed to `gw config init`;
  --issuer URL            issuer of another OIDC provider    | what is missing is asked in
  --client-id C           client id of the gw app registration| a terminal
  --model M               serving endpoint for Claude Code  /
  --non-interactive       never prompt (also when stdin is not a terminal)
  --no-alias              leave shell startup files and fish functions alone
  --uninstall             remove the binaries, the alias block, the fish function and the
                          completions this installer added
  --purge                 with --uninstall: also sign out of every profile (keyring) and
                          remove the config, the tokens and the discovery cache
  -h, --help              this help

Exit codes: 0 done; 1 failure; 2 usage error or invalid config answers.
EOF
}

# ---------------------------------------------------------------- output --

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
# die CODE MESSAGE [HINT]: gw's error style, one `error:` line and one `hint:` line.
die() {
	printf 'error: %s\n' "$2" >&2
	if [ $# -ge 3 ]; then printf 'hint: %s\n' "$3" >&2; fi
	exit "$1"
}

# --------------------------------------------------------------- options --

if [ -z "${HOME:-}" ]; then
	die 2 "HOME is not set" "run the installer as the user who will use gw"
fi
case $(uname -s) in
MINGW* | MSYS* | CYGWIN*)
	die 2 "this installer is for Linux and macOS" "on Windows, run installer/install.ps1 in PowerShell: powershell -ExecutionPolicy Bypass -File installer\\install.ps1"
	;;
esac

prefix=${PREFIX:-$HOME/.local}
from=
host=
tenant_id=
issuer=
client_id=
model=
non_interactive=0
no_alias=0
uninstall=0
purge=0
config_flags=0

while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	--prefix | --from | --host | --tenant-id | --issuer | --client-id | --model)
		[ $# -ge 2 ] || die 2 "$opt needs a value" "installer/install.sh --help"
		val=$2
		shift 2
		;;
	--prefix=* | --from=* | --host=* | --tenant-id=* | --issuer=* | --client-id=* | --model=*)
		val=${opt#*=}
		opt=${opt%%=*}
		shift
		;;
	--non-interactive) non_interactive=1; shift; continue ;;
	--no-alias) no_alias=1; shift; continue ;;
	--uninstall) uninstall=1; shift; continue ;;
	--purge) purge=1; shift; continue ;;
	-h | --help) usage; exit 0 ;;
	*) die 2 "unknown option \`$opt\`" "installer/install.sh --help" ;;
	esac
	[ -n "$val" ] || die 2 "$opt needs a non-empty value" "installer/install.sh --help"
	case $opt in
	--prefix) prefix=$val ;;
	--from) from=$val ;;
	--host) host=$val; config_flags=1 ;;
	--tenant-id) tenant_id=$val; config_flags=1 ;;
	--issuer) issuer=$val; config_flags=1 ;;
	--client-id) client_id=$val; config_flags=1 ;;
	--model) model=$val; config_flags=1 ;;
	esac
done

if [ "$purge" = 1 ] && [ "$uninstall" = 0 ]; then
	die 2 "--purge goes with --uninstall" "installer/install.sh --uninstall --purge"
fi
if [ -n "$tenant_id" ] && [ -n "$issuer" ]; then
	die 2 "--tenant-id (Entra ID) and --issuer (another OIDC provider) exclude each other" \
		"pass one of them, with --client-id"
fi

case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac
prefix=${prefix%/}
bin=$prefix/bin

# ---------------------------------------------------------- temp + paths --

tmp=
cleanup() {
	if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Made once, here: functions also run in subshells ($(...), pipelines), which must not make
# their own (the EXIT trap would not see it).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-install.XXXXXX") || die 1 "cannot create a temporary directory" "check TMPDIR"

# An XDG base directory: the variable when it holds an absolute path, else the default
# (the rule gw itself follows, through the `directories` crate).
xdg() {
	case ${2:-} in
	/*) printf '%s\n' "$2" ;;
	*) printf '%s\n' "$HOME/$1" ;;
	esac
}
data_home=$(xdg .local/share "${XDG_DATA_HOME:-}")
config_home=$(xdg .config "${XDG_CONFIG_HOME:-}")
shell_name=${SHELL:-}
shell_name=${shell_name##*/}
bashrc=$HOME/.bashrc
zdot=${ZDOTDIR:-$HOME}
zshrc=$zdot/.zshrc
fish_dir=$config_home/fish

# PATH with ~ for $HOME, for messages.
pretty() {
	case $1 in
	"$HOME"/*) printf '%s/%s\n' '~' "${1#"$HOME"/}" ;;
	*) printf '%s\n' "$1" ;;
	esac
}

uses_bash() { [ -e "$bashrc" ] || [ "$shell_name" = bash ]; }
uses_zsh() { [ -e "$zshrc" ] || [ "$shell_name" = zsh ]; }
uses_fish() { [ -d "$fish_dir" ] || [ "$shell_name" = fish ]; }

# Write stdin to FILE only when its bytes differ; says what happened. FILE keeps its inode
# (and a symlink stays a symlink) because it is rewritten in place.
put_file() {
	cat >"$tmp/put"
	if [ -f "$1" ] && cmp -s "$tmp/put" "$1"; then
		say "  unchanged: $1"
		return 0
	fi
	mkdir -p "$(dirname "$1")"
	cat "$tmp/put" >"$1"
	say "  wrote $1"
}

# ------------------------------------------------------------ alias block --
#
# One marked block per startup file. Two optional note lines inside it record what the
# installer did to the file around the block, so --uninstall can restore it byte for byte:
# the file did not exist, or its last line had no newline and got one.

BLOCK_BEGIN='# >>> gw >>>'
BLOCK_END='# <<< gw <<<'
BLOCK_NOTE="# Added by gw's installer (installer/install.sh); \`install.sh --uninstall\` removes this block."
BLOCK_ALIAS="alias claude-db='gw claude'"
NOTE_CREATED='# (the installer created this file)'
NOTE_NEWLINE='# (the installer ended the line above this block with a newline)'

block() { # [NOTE...]
	printf '%s\n' "$BLOCK_BEGIN" "$BLOCK_NOTE"
	for n in "$@"; do printf '%s\n' "$n"; done
	printf '%s\n' "$BLOCK_ALIAS" "$BLOCK_END"
}

# awk over an rc file. mode=remove drops the block (exit 4: the file should be deleted, as the
# installer created it and nothing else is left); mode=replace writes the current block in its
# place, keeping its notes. eol=1 when the file ends with a newline. Exit 3: no end marker.
rc_awk() { # MODE FILE
	eol=1
	if [ -s "$2" ] && [ -n "$(tail -c 1 "$2")" ]; then eol=0; fi
	awk -v mode="$1" -v eol="$eol" -v B="$BLOCK_BEGIN" -v E="$BLOCK_END" \
		-v NOTE="$BLOCK_NOTE" -v ALIAS="$BLOCK_ALIAS" \
		-v NC="$NOTE_CREATED" -v NN="$NOTE_NEWLINE" '
		{ line[NR] = $0 }
		END {
			n = 0; inb = 0; seen = 0; created = 0; addednl = 0; at_eof = 0
			for (i = 1; i <= NR; i++) {
				if (!inb && !seen && line[i] == B) { inb = 1; continue }
				if (inb) {
					if (line[i] == NC) created = 1
					if (line[i] == NN) addednl = 1
					if (line[i] == E) {
						inb = 0; seen = 1; at_eof = (i == NR)
						if (mode == "replace") {
							out[++n] = B; out[++n] = NOTE
							if (created) out[++n] = NC
							if (addednl) out[++n] = NN
							out[++n] = ALIAS; out[++n] = E
						}
					}
					continue
				}
				out[++n] = line[i]
			}
			if (inb) exit 3
			if (mode == "remove" && created && n == 0) exit 4
			final_nl = eol
			if (at_eof) final_nl = (mode == "replace") ? 1 : !addednl
			for (i = 1; i <= n; i++) {
				printf "%s", out[i]
				if (i < n || final_nl) printf "\n"
			}
		}' "$2"
}

add_block() { # FILE
	f=$1
	if [ ! -e "$f" ]; then
		mkdir -p "$(dirname "$f")"
		block "$NOTE_CREATED" >"$f"
		say "  created $f with the claude-db alias"
	elif grep -qxF "$BLOCK_BEGIN" "$f"; then
			rc=0
		rc_awk replace "$f" >"$tmp/rc" || rc=$?
		if [ "$rc" = 3 ]; then
			die 1 "the gw block in $f has no end line \`$BLOCK_END\`" "fix the file by hand, then re-run"
		fi
		if cmp -s "$tmp/rc" "$f"; then
			say "  unchanged: $f"
		else
			cat "$tmp/rc" >"$f"
			say "  updated the claude-db alias in $f"
		fi
	elif [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then
		{ printf '\n'; block "$NOTE_NEWLINE"; } >>"$f"
		say "  added the claude-db alias to $f"
	else
		block >>"$f"
		say "  added the claude-db alias to $f"
	fi
}

remove_block() { # FILE
	f=$1
	[ -f "$f" ] && grep -qxF "$BLOCK_BEGIN" "$f" || return 0
	rc=0
	rc_awk remove "$f" >"$tmp/rc" || rc=$?
	case $rc in
	0)
		cat "$tmp/rc" >"$f"
		say "  removed the claude-db alias from $f"
		;;
	4)
		rm -f "$f"
		say "  removed $f (the installer had created it)"
		;;
	3) warn "the gw block in $f has no end line \`$BLOCK_END\`; left as is: remove it by hand" ;;
	*) warn "could not edit $f; remove the block between \`$BLOCK_BEGIN\` and \`$BLOCK_END\` by hand" ;;
	esac
}

FISH_MARK="# Added by gw's installer (installer/install.sh); \`install.sh --uninstall\` removes this file."
fish_function() {
	# shellcheck disable=SC2016 # $argv is fish's, written as is
	printf '%s\n' "$FISH_MARK" \
		"function claude-db --wraps 'gw claude' --description 'Claude Code on the Databricks gateway (gw claude)'" \
		'    gw claude $argv' \
		'end'
}
fish_function_file=$fish_dir/functions/claude-db.fish

# ------------------------------------------------------------ completions --

bash_completion_file=$data_home/bash-completion/completions/gw
zfunc=$zdot/.zfunc
zsh_completion_file=$zfunc/_gw
fish_completion_file=$fish_dir/completions/gw.fish

install_completion() { # SHELL FILE
	if ! "$bin/gw" completions "$1" >"$tmp/completion" 2>"$tmp/completion.err" </dev/null; then
		warn "\`gw completions $1\` failed: $(cat "$tmp/completion.err")"
		return 0
	fi
	put_file "$2" <"$tmp/completion"
}

completions() {
	say "Shell completions:"
	if uses_bash; then
		# bash-completion 2 loads ~/.local/share/bash-completion/completions/<command> on demand.
		if [ -d "$data_home" ]; then
			install_completion bash "$bash_completion_file"
		else
			say "  bash: skipped ($data_home does not exist)"
		fi
	fi
	if uses_zsh; then
		if [ -d "$zfunc" ]; then
			install_completion zsh "$zsh_completion_file"
		else
			say "  zsh: skipped: to get them, run \`mkdir $zfunc\`, put \`fpath=($zfunc \$fpath)\` before \`compinit\` in $zshrc, and re-run the installer"
		fi
	fi
	if uses_fish; then
		install_completion fish "$fish_completion_file"
	fi
	if ! uses_bash && ! uses_zsh && ! uses_fish; then
		say "  none: no bash, zsh or fish in use (\`gw completions SHELL\` prints them)"
	fi
}

# ------------------------------------------------------------ binaries --

# The directory holding gw and gw-admin inside DIR: DIR, DIR/bin, DIR/*, or DIR/*/bin.
find_bins() { # DIR
	for d in "$1" "$1/bin" "$1"/* "$1"/*/bin; do
		if [ -f "$d/gw" ] && [ -f "$d/gw-admin" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	if [ -f "$1/gw" ] || [ -f "$1/bin/gw" ]; then
		die 1 "found gw but no gw-admin in $from" "ship both binaries side by side"
	fi
	for d in "$1" "$1/bin" "$1"/* "$1"/*/bin; do
		if [ -f "$d/gw.exe" ]; then
			die 1 "$from holds Windows binaries (gw.exe)" "on Windows, run installer/install.ps1 in PowerShell"
		fi
	done
	die 1 "no gw and gw-admin binaries in $from" "pass a directory (or archive) holding both, at its top, in bin/ or in one subdirectory"
}

binaries_from() { # DIR_OR_ARCHIVE -> prints the directory holding them
	if [ -d "$1" ]; then
		find_bins "$1"
		return 0
	fi
	[ -f "$1" ] || die 1 "--from $1: no such file or directory" "pass a directory or an archive holding gw and gw-admin"
	mkdir "$tmp/from"
	case $1 in
	*.tar.gz | *.tgz) gzip -dc <"$1" | (cd "$tmp/from" && tar -xf -) ;;
	*.tar.xz | *.txz) xz -dc <"$1" | (cd "$tmp/from" && tar -xf -) ;;
	*.tar) (cd "$tmp/from" && tar -xf -) <"$1" ;;
	*.zip)
		command -v unzip >/dev/null 2>&1 || die 1 "unzip is not installed" "install unzip, or pass a .tar.gz"
		unzip -q "$1" -d "$tmp/from"
		;;
	*) die 2 "--from $1: not a directory, .tar.gz, .tgz, .tar.xz, .tar or .zip" "pass a directory or one of those archives" ;;
	esac || die 1 "cannot unpack $1" "check that the archive is complete"
	find_bins "$tmp/from"
}

binaries_from_source() { # -> prints the directory holding them
	root=$(dirname "$script_dir")
	if [ ! -f "$root/Cargo.toml" ] || [ ! -f "$root/admin/Cargo.toml" ]; then
		die 1 "no --from given, and this installer is not inside a gw checkout" \
			"pass --from DIR_OR_ARCHIVE with prebuilt gw and gw-admin"
	fi
	cargo=$(command -v cargo 2>/dev/null || true)
	if [ -z "$cargo" ] && [ -x "$HOME/.cargo/bin/cargo" ]; then cargo=$HOME/.cargo/bin/cargo; fi
	if [ -z "$cargo" ]; then
		die 1 "cargo is not installed: building gw from this checkout needs Rust" \
			"install Rust (https://rustup.rs) and re-run, or pass --from DIR_OR_ARCHIVE with prebuilt gw and gw-admin"
	fi
	profile=${GW_INSTALL_CARGO_PROFILE:-release}
	say "Building gw and gw-admin from $root (cargo build --profile $profile --locked; a first build takes a few minutes)" >&2
	"$cargo" build --quiet --locked --profile "$profile" -p gw -p gw-admin \
		--manifest-path "$root/Cargo.toml" </dev/null >&2 ||
		die 1 "cargo build failed (see above)" "fix the build, or pass --from DIR_OR_ARCHIVE with prebuilt binaries"
	# The target directory as cargo sees it: CARGO_TARGET_DIR, build.target-dir, or target/.
	target=$("$cargo" metadata --no-deps --format-version 1 --manifest-path "$root/Cargo.toml" </dev/null |
		sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
	[ -n "$target" ] || target=$root/target
	case $profile in
	dev | test) out=$target/debug ;;
	bench) out=$target/release ;;
	*) out=$target/$profile ;;
	esac
	if [ ! -f "$out/gw" ] || [ ! -f "$out/gw-admin" ]; then
		die 1 "cargo built no gw/gw-admin in $out" "check CARGO_TARGET_DIR"
	fi
	printf '%s\n' "$out"
}

# Whether macOS marked FILE as downloaded (Gatekeeper then refuses an unsigned binary, and
# the failure would look like a wrong architecture).
quarantined() { # FILE
	[ "$(uname -s)" = Darwin ] && xattr -p com.apple.quarantine "$1" >/dev/null 2>&1
}

install_binaries() { # SRC_DIR
	for b in gw gw-admin; do
		if quarantined "$1/$b"; then
			die 1 "macOS has quarantined $1/$b (it was downloaded by a browser), so Gatekeeper will not run it" \
				"if you trust where it came from, run \`xattr -d com.apple.quarantine '$1/gw' '$1/gw-admin'\` (or download the archive with curl, which sets no quarantine) and run the installer again"
		fi
	done
	mkdir -p "$bin" 2>/dev/null || die 1 "cannot create $bin" "pass --prefix DIR with a directory you can write to"
	for b in gw gw-admin; do
		if [ -f "$bin/$b" ] && cmp -s "$1/$b" "$bin/$b"; then
			say "  unchanged: $bin/$b"
			continue
		fi
		# Copy next to the target, then rename: a running gw keeps its old file.
		cp "$1/$b" "$bin/.$b.new" || die 1 "cannot write $bin/$b" "pass --prefix DIR with a directory you can write to"
		chmod 755 "$bin/.$b.new"
		mv -f "$bin/.$b.new" "$bin/$b"
		say "  installed $bin/$b"
	done
	for b in gw gw-admin; do
		if ! v=$("$bin/$b" --version </dev/null 2>&1); then
			if quarantined "$bin/$b"; then
				die 1 "macOS's Gatekeeper blocks $bin/$b (quarantined download)" "run \`xattr -d com.apple.quarantine '$bin/$b'\`, or download with curl"
			fi
			die 1 "$bin/$b does not run on this machine: $v" "use binaries built for $(uname -sm)"
		fi
		say "  $v"
	done
	# gw answers to `claude-db` too: the one executable the Claude Code IDE extensions can take
	# as their process wrapper (README "In VS Code or JetBrains").
	if [ "$(readlink "$bin/claude-db" 2>/dev/null)" != gw ]; then
		if [ -e "$bin/claude-db" ] && [ ! -L "$bin/claude-db" ]; then
			say "  kept $bin/claude-db (not gw's link; the IDE wrapper needs it to point at gw)"
		else
			ln -sf gw "$bin/claude-db"
			say "  linked $bin/claude-db -> gw (for the IDE extensions' process wrapper)"
		fi
	fi
}

path_hint() {
	case ":${PATH:-}:" in
	*":$bin:"*) return 0 ;;
	esac
	shown=$bin
	case $bin in
	"$HOME"/*) shown=\$HOME${bin#"$HOME"} ;;
	esac
	warn "$bin is not on your PATH, so \`gw\` and \`claude-db\` will not be found."
	# shellcheck disable=SC2016 # the line to add, with a literal $PATH
	printf '  bash/zsh: add this line to %s:\n    export PATH="%s:$PATH"\n' \
		"$(if [ "$shell_name" = zsh ]; then pretty "$zshrc"; else pretty "$bashrc"; fi)" "$shown" >&2
	if uses_fish; then printf '  fish: run once:\n    fish_add_path %s\n' "$shown" >&2; fi
}

# ----------------------------------------------------------------- config --

# Runs `gw config init` unless a config exists. Sets configured=0 when no config was written
# (only possible with no --host and no terminal), so the caller skips `gw doctor`.
configured=1
write_config() {
	cfg=$("$bin/gw" config path </dev/null) || die 1 "\`gw config path\` failed" "run \`$bin/gw config path\` to see why"
	if [ -e "$cfg" ]; then
		say "Config: $cfg exists; left as is."
		if [ "$config_flags" = 1 ]; then
			warn "ignored --host/--tenant-id/--issuer/--client-id/--model: a config exists (edit it, or \`gw config init --force ...\`)"
		fi
		return 0
	fi
	interactive=0
	if [ "$non_interactive" = 0 ] && [ -t 0 ]; then interactive=1; fi
	if [ "$interactive" = 0 ] && [ -z "$host" ]; then
		warn "no config written: --host is missing and there is no terminal to ask in."
		printf '  later: gw config init --host URL (--tenant-id T | --issuer URL) --client-id C\n' >&2
		configured=0
		return 0
	fi
	set -- config init
	[ -z "$host" ] || set -- "$@" --host "$host"
	[ -z "$tenant_id" ] || set -- "$@" --tenant-id "$tenant_id"
	[ -z "$issuer" ] || set -- "$@" --issuer "$issuer"
	[ -z "$client_id" ] || set -- "$@" --client-id "$client_id"
	[ -z "$model" ] || set -- "$@" --model "$model"
	if [ "$interactive" = 0 ]; then
		set -- "$@" --non-interactive
	else
		say "Config: a few questions (Enter takes the [default]):"
	fi
	attempt=1
	while :; do
		rc=0
		"$bin/gw" "$@" || rc=$?
		[ "$rc" = 0 ] && return 0
		# Answers typed at the prompts may be retried; flags would fail the same way again.
		if [ "$rc" = 2 ] && [ "$interactive" = 1 ] && [ "$config_flags" = 0 ] && [ "$attempt" -lt 3 ]; then
			attempt=$((attempt + 1))
			say "Let's try again."
			continue
		fi
		[ "$rc" = 2 ] && die 2 "gw config init refused the answers (above); nothing was written" \
			"re-run with corrected --host/--tenant-id/--issuer/--client-id/--model"
		die 1 "gw config init failed (above)" "run \`$bin/gw config init\` yourself"
	done
}

doctor() {
	say "Checking the setup (gw doctor; network checks only warn):"
	rc=0
	"$bin/gw" doctor </dev/null || rc=$?
	case $rc in
	0) ;;
	2) die 2 "the config is invalid (above)" "fix the key named, or move the file away and re-run the installer" ;;
	*) die 1 "gw doctor found a failing check (FAIL above)" "fix it, then run \`gw doctor\`" ;;
	esac
}

# -------------------------------------------------------------- uninstall --

# Removes a directory of gw's own (its last component is gw), never anything wider.
remove_gw_dir() {
	case $1 in
	*/gw) ;;
	*) return 0 ;;
	esac
	if [ -d "$1" ]; then
		rm -rf "$1"
		say "  removed $1"
	fi
}

purge() {
	gw=$bin/gw
	[ -x "$gw" ] || gw=$(command -v gw 2>/dev/null || true)
	if [ -n "$gw" ]; then
		cfg=$("$gw" config path </dev/null 2>/dev/null || true)
	else
		cfg=
	fi
	[ -n "$cfg" ] || cfg=$config_home/gw/config.toml
	if [ -f "$cfg" ] && [ -n "$gw" ]; then
		# Sign out of every profile, so keyring items go too (best effort).
		"$gw" --config "$cfg" logout --all </dev/null ||
			warn "could not sign out of every profile (keyring items may remain under service \`gw\`)"
	fi
	if [ -n "$gw" ]; then
		state_dir=$("$gw" --config "$cfg" config path --state-dir </dev/null 2>/dev/null || true)
		cache_dir=$("$gw" --config "$cfg" config path --cache-dir </dev/null 2>/dev/null || true)
	else
		state_dir=''
		cache_dir=''
	fi
	if [ -f "$cfg" ]; then
		rm -f "$cfg"
		say "  removed $cfg"
		rmdir "$(dirname "$cfg")" 2>/dev/null || true
	fi
	# gw knows its own directories per platform; without a gw binary, assume its defaults.
	if [ -n "$state_dir" ] && [ -n "$cache_dir" ]; then
		remove_gw_dir "$state_dir"
		remove_gw_dir "$cache_dir"
	elif [ "$(uname -s)" = Darwin ]; then
		remove_gw_dir "$HOME/Library/Application Support/gw"
		remove_gw_dir "$HOME/Library/Caches/gw"
	else
		remove_gw_dir "$(xdg .local/state "${XDG_STATE_HOME:-}")/gw"
		remove_gw_dir "$(xdg .cache "${XDG_CACHE_HOME:-}")/gw"
	fi
}

do_uninstall() {
	say "Uninstalling gw from $bin"
	if [ "$purge" = 1 ]; then purge; fi
	for b in gw gw-admin; do
		if [ -e "$bin/$b" ]; then
			rm -f "$bin/$b"
			say "  removed $bin/$b"
		fi
	done
	if [ "$(readlink "$bin/claude-db" 2>/dev/null)" = gw ]; then
		rm -f "$bin/claude-db"
		say "  removed $bin/claude-db"
	fi
	if [ "$no_alias" = 0 ]; then
		remove_block "$bashrc"
		remove_block "$zshrc"
		if [ -f "$fish_function_file" ] && grep -qxF "$FISH_MARK" "$fish_function_file"; then
			rm -f "$fish_function_file"
			say "  removed $fish_function_file"
		fi
	fi
	for f in "$bash_completion_file" "$zsh_completion_file" "$fish_completion_file"; do
		if [ -f "$f" ]; then
			rm -f "$f"
			say "  removed $f"
		fi
	done
	# Directories the installer may have made, when nothing else is in them.
	for d in "$bin" "$fish_dir/functions" "$fish_dir/completions" \
		"$data_home/bash-completion/completions" "$data_home/bash-completion"; do
		rmdir "$d" 2>/dev/null || true
	done
	if [ "$purge" = 0 ]; then
		say "Kept the config and tokens (--purge removes them too)."
	fi
	say "Done."
}

# ------------------------------------------------------------------ main --

if [ "$uninstall" = 1 ]; then
	do_uninstall
	exit 0
fi

script_dir=$(cd "$(dirname "$0")" && pwd)
if [ -z "$from" ]; then
	# A release archive that ships install.sh next to gw and gw-admin (or their bin/).
	for d in "$script_dir" "$script_dir/bin"; do
		if [ -f "$d/gw" ] && [ -f "$d/gw-admin" ]; then
			from=$d
			break
		fi
	done
fi
if [ -n "$from" ]; then
	src=$(binaries_from "$from")
	say "Installing gw and gw-admin into $bin (prebuilt, from $from)"
else
	src=$(binaries_from_source)
	say "Installing gw and gw-admin into $bin (built from this checkout)"
fi
install_binaries "$src"
path_hint

if [ "$no_alias" = 0 ]; then
	say "The claude-db alias:"
	if uses_bash; then add_block "$bashrc"; fi
	if uses_zsh; then add_block "$zshrc"; fi
	if uses_fish; then fish_function | put_file "$fish_function_file"; fi
	if ! uses_bash && ! uses_zsh && ! uses_fish; then
		warn "no bash, zsh or fish startup file found (SHELL=${SHELL:-unset}); add this to yours: $BLOCK_ALIAS"
	fi
fi
completions

write_config
if [ "$configured" = 1 ]; then doctor; fi

say ""
if [ "$configured" = 1 ]; then
	say "Done. Open a new terminal (or source your shell's startup file), then:"
	say "  gw login      # sign in at your identity provider"
	say "  claude-db     # Claude Code on the Databricks gateway"
else
	say "Installed, but without a config: run \`gw config init\`, then \`gw login\` and \`claude-db\`."
fi
