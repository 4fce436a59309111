# The operator's kit: make install, the man pages, the systemd unit.

# install_into DIR [MAKE_ARGS...]: make install into DIR, log in DIR.log.
install_into() {
	_dest=$1
	shift
	make --no-print-directory install DESTDIR="$_dest" BUILD="$BUILD" \
	    "$@" >"$_dest.log" 2>&1 ||
	    { fail "make install failed: $(tail -n 5 "$_dest.log")"; return 1; }
}

# has_mode FILE MODE: FILE is a regular file with exactly MODE (octal).
has_mode() {
	[ -f "$1" ] || { fail "not installed: ${1#"$WORK"/}"; return 1; }
	_m=$(stat -c %a "$1")
	[ "$_m" = "$2" ] || fail "${1#"$WORK"/} has mode $_m, want $2"
}

test_install_tree_is_complete() {
	_inst=$WORK/inst
	_p=$_inst/usr/local
	install_into "$_inst" || return
	has_mode "$_p/sbin/capsuled" 755
	has_mode "$_p/share/man/man8/capsuled.8" 644
	has_mode "$_p/share/man/man5/capsuled.yaml.5" 644
	has_mode "$_p/etc/capsuled/capsuled.yaml.example" 644
	has_mode "$_p/lib/systemd/system/capsuled.service" 644
	has_mode "$_p/lib/sysusers.d/capsuled.conf" 644
	has_mode "$_p/etc/logrotate.d/capsuled" 644
	[ -z "$FAILMSG" ] || return 1
	_unit=$_p/lib/systemd/system/capsuled.service
	grep -q '@[A-Z]*@' "$_unit" "$_p/share/man/man8/capsuled.8" \
	    "$_p/share/man/man5/capsuled.yaml.5" &&
	    fail "a @PLACEHOLDER@ was left in an installed file"
	_want="ExecStart=/usr/local/sbin/capsuled -f -c"
	_want="$_want /usr/local/etc/capsuled/capsuled.yaml"
	grep -qxF "$_want" "$_unit" ||
	    fail "unit has $(grep '^ExecStart=' "$_unit"), want $_want"
	_v=$("$_p/sbin/capsuled" -V 2>&1)
	case "$_v" in
	"capsuled "[0-9]*) ;;
	*) fail "installed capsuled -V printed '$_v'" ;;
	esac
	_out=$("$_p/sbin/capsuled" -n \
	    -c "$_p/etc/capsuled/capsuled.yaml.example" 2>&1) ||
	    fail "installed example config is refused: $_out"
	grep -q '^u capsuled ' "$_p/lib/sysusers.d/capsuled.conf" ||
	    fail "sysusers file creates no capsuled user"
	if command -v systemd-sysusers >/dev/null 2>&1; then
		mkdir -p "$WORK/sysroot"
		_out=$(systemd-sysusers --dry-run --root="$WORK/sysroot" \
		    "$_p/lib/sysusers.d/capsuled.conf" 2>&1) ||
		    fail "systemd-sysusers: $_out"
	fi
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		echo "     skipped: systemd-analyze is not installed"
		[ -z "$FAILMSG" ]
		return
	fi
	# verify wants the binary at its ExecStart path: point it into DESTDIR.
	# With man(1) present it also checks that Documentation= pages exist.
	mkdir -p "$WORK/unit"
	sed "s|=/usr/local/sbin/|=$_p/sbin/|" "$_unit" \
	    >"$WORK/unit/capsuled.service"
	_man=--man=no
	command -v man >/dev/null 2>&1 && _man=--man=yes
	_out=$(MANPATH=$_p/share/man systemd-analyze verify "$_man" \
	    "$WORK/unit/capsuled.service" 2>&1)
	_rc=$?
	[ "$_rc" -eq 0 ] && [ -z "$_out" ] ||
	    fail "systemd-analyze verify (exit $_rc): $_out"
}

test_install_prefix_usr_uses_etc() {
	_inst=$WORK/inst-usr
	install_into "$_inst" PREFIX=/usr || return
	has_mode "$_inst/usr/sbin/capsuled" 755
	has_mode "$_inst/etc/capsuled/capsuled.yaml.example" 644
	has_mode "$_inst/usr/lib/systemd/system/capsuled.service" 644
	has_mode "$_inst/usr/lib/sysusers.d/capsuled.conf" 644
	has_mode "$_inst/etc/logrotate.d/capsuled" 644
	_want="ExecStart=/usr/sbin/capsuled -f -c /etc/capsuled/capsuled.yaml"
	grep -qxF "$_want" "$_inst/usr/lib/systemd/system/capsuled.service" ||
	    fail "unit under PREFIX=/usr lacks $_want"
	grep -q '^\.It Pa /etc/capsuled/capsuled.yaml$' \
	    "$_inst/usr/share/man/man8/capsuled.8" ||
	    fail "capsuled.8 FILES does not name /etc/capsuled/capsuled.yaml"
	[ -z "$FAILMSG" ]
}

test_man_pages_lint_clean() {
	if ! command -v mandoc >/dev/null 2>&1; then
		echo "     skipped: mandoc is not installed"
		return 0
	fi
	# From inside man/, so that the pages' references to each other resolve.
	_out=$(cd man && mandoc -Tlint -Wall ./*.[0-9] 2>&1)
	[ -z "$_out" ] || fail "mandoc -Tlint -Wall: $_out"
}
