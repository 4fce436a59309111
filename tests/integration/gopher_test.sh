# Gopher: menus and text on the Gopher port and on the Gemini port.

# gopher PORT SELECTOR: fetch with curl, raw bytes on stdout.
gopher() {
	curl -s --max-time 10 "gopher://127.0.0.1:$1/$2"
}

# raw_gopher PORT BYTES: send exact bytes over plain TCP.
raw_gopher() {
	"$GEMCLIENT" -P -t 10 127.0.0.1 "$1" "$2"
}

# check_menu FILE: every line is "T<display>\t<sel>\t<host>\t<port>\r\n" and
# the menu ends with ".\r\n".
check_menu() {
	[ -s "$1" ] || { fail "empty menu"; return 1; }
	[ "$(tail -c 3 "$1" | od -An -c | tr -d ' ')" = '.\r\n' ] ||
	    { fail "menu does not end with .CRLF"; return 1; }
	_bad=$(head -n -1 "$1" | awk -F'\t' 'NF != 4 || $0 !~ /\r$/' | head -n 3)
	[ -z "$_bad" ] || fail "malformed menu lines: $_bad"
	grep -q "	localhost	$GOPHER_PORT"$'\r'"\$" "$1" ||
	    fail "no item carries the public host and port"
}

test_gopher_root_menu() {
	gopher "$GOPHER_PORT" "" >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	grep -q "^1The blog: Markdown posts rendered on the fly	/blog/	localhost	$GOPHER_PORT" \
	    "$SERVER_DIR/menu" || fail "no blog item"
	[ "$(grep -c "^7Search the posts	/search	" "$SERVER_DIR/menu")" = 1 ] ||
	    fail "want exactly one search item"
	grep '	/search	' "$SERVER_DIR/menu" | grep -vq '^7' &&
	    fail "search offered as a non-search item"
	grep -q "^IA picture (PNG)	/assets/capsule.png	" "$SERVER_DIR/menu" ||
	    fail "no image item"
}

test_gopher_fallback_on_gemini_port() {
	gopher "$GEMINI_PORT" "" >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	gopher "$GEMINI_PORT" "1/blog/" | grep -q '^02026-03-12 Notes on Gopher	' ||
	    fail "blog menu on the Gemini port"
}

# The Gemini port's sniff reads what came first: a whole line, a lone
# first byte whose line follows later, or more than a selector may hold.
test_gopher_fallback_line_in_pieces_or_too_long() {
	"$GEMCLIENT" -P -d 30 -t 10 127.0.0.1 "$GEMINI_PORT" '/blog/\r\n' \
	    >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	grep -q '^02026-03-12 Notes on Gopher	' "$SERVER_DIR/menu" ||
	    fail "dripped selector on the Gemini port: not the blog menu"
	_r=$(raw_gopher "$GEMINI_PORT" "/$(printf 'a%.0s' $(seq 1 1100))\r\n")
	case "$_r" in 3*) ;; *) fail "1100-byte selector: ${_r:0:40}" ;; esac
	_r=$("$GEMCLIENT" -P -t 10 -R x:10000 127.0.0.1 "$GEMINI_PORT" "")
	case "$_r" in 3*) ;; *) fail "10000 bytes without newline: ${_r:0:40}" ;; esac
	log_has 'gopher "/blog/\\r\\n" 0'
}

test_gopher_blog_menu_newest_first() {
	gopher "$GOPHER_PORT" "1/blog/" >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	grep '^0' "$SERVER_DIR/menu" | head -n 3 | cut -c2-11 >"$SERVER_DIR/dates"
	[ "$(sed -n 1p "$SERVER_DIR/dates")" = 2026-03-12 ] &&
	    [ "$(sed -n 3p "$SERVER_DIR/dates")" = 2026-01-07 ] ||
	    fail "posts not newest first: $(cat "$SERVER_DIR/dates")"
}

test_gopher_post_as_wrapped_text() {
	gopher "$GOPHER_PORT" "0/blog/my-journey-into-data-engineering.gmi" \
	    >"$SERVER_DIR/post"
	head -n 2 "$SERVER_DIR/post" | grep -q '^My Journey into Data Engineering' ||
	    fail "title not on top"
	grep -q '^Published 2026-01-07' "$SERVER_DIR/post" || fail "no date"
	[ "$(tail -c 3 "$SERVER_DIR/post" | od -An -c | tr -d ' ')" = '.\r\n' ] ||
	    fail "text not terminated"
	# Columns, not bytes: the post has curly quotes and dashes.
	perl -CSD -ne 's/\r?\n$//; print "$_\n" if length > 70' \
	    "$SERVER_DIR/post" | grep -v '^\[[0-9]*\] ' | grep -q . &&
	    fail "line wider than 70 columns"
	grep -q "$(printf '\t')" "$SERVER_DIR/post" && fail "TAB in text"
	grep -qx "$(printf '.\r')" <(head -n -1 "$SERVER_DIR/post") &&
	    fail "a lone dot inside the text"
	awk '$0 !~ /\r$/' "$SERVER_DIR/post" | grep -q . && fail "LF without CR"
	return 0
}

test_gopher_gmi_file_as_text() {
	gopher "$GOPHER_PORT" "0/about.gmi" | grep -q '^What capsuled is made of' ||
	    fail "about.gmi not rendered as text"
}

test_gopher_image_served_raw() {
	gopher "$GOPHER_PORT" "I/assets/capsule.png" |
	    cmp -s - "$SERVER_DIR/capsule/assets/capsule.png" ||
	    fail "image bytes differ"
}

test_gopher_directory_without_slash() {
	gopher "$GOPHER_PORT" "1/docs" | grep -q 'requests.gmi' ||
	    fail "directory without a slash"
}

# A generated listing types its entries from what it found: directories
# (a link to one included) are menus, files by their names.
test_gopher_listing_item_types() {
	_d=$SERVER_DIR/capsule/listed
	mkdir -p "$_d/sub"
	printf 'x\n' >"$_d/notes.txt"
	printf '# Page\n' >"$_d/page.gmi"
	ln -s sub "$_d/to-sub"
	gopher "$GOPHER_PORT" "1/listed/" >"$SERVER_DIR/listed"
	grep -q "^1sub/	/listed/sub/	" "$SERVER_DIR/listed" ||
	    fail "subdirectory not a menu: $(cat "$SERVER_DIR/listed")"
	grep -q "^1to-sub/	/listed/to-sub/	" "$SERVER_DIR/listed" ||
	    fail "link to a directory not a menu"
	grep -q "^0notes.txt	/listed/notes.txt	" "$SERVER_DIR/listed" ||
	    fail "text file not type 0"
	grep -q "^0page.gmi	/listed/page.gmi	" "$SERVER_DIR/listed" ||
	    fail "gemtext file not type 0"
}

# Each worker keeps a listing while its directory is unchanged; every
# change still shows on the next request, over both protocols.  The link
# here points out of the directory, so its target can turn from a
# directory into a file with no change to the listed directory itself.
test_kept_listing_follows_its_directory() {
	_d=$SERVER_DIR/capsule/kept
	mkdir -p "$_d" "$SERVER_DIR/capsule/target"
	printf 'a\n' >"$_d/a.gmi"
	ln -s ../target "$_d/link"
	sleep 2.1
	for _i in 1 2 3 4; do
		gopher "$GOPHER_PORT" "1/kept/" | grep -q "^1link/	/kept/link/	" ||
		    fail "link to a directory not a menu"
		gem_body /kept/ | grep -q '^=> a.gmi a.gmi' || fail "a.gmi not listed"
	done
	rmdir "$SERVER_DIR/capsule/target"
	printf 't\n' >"$SERVER_DIR/capsule/target"
	for _i in 1 2 3 4; do
		gopher "$GOPHER_PORT" "1/kept/" | grep -q "^[^1]link	/kept/link	" ||
		    fail "link to a file still a menu"
	done
	printf 'b\n' >"$_d/b.gmi"
	for _i in 1 2 3 4; do
		gopher "$GOPHER_PORT" "1/kept/" | grep -q "^0b.gmi	/kept/b.gmi	" ||
		    fail "new file missing from the menu"
		gem_body /kept/ | grep -q '^=> b.gmi b.gmi' ||
		    fail "new file missing from the listing"
	done
	printf '# Kept index\n' >"$_d/index.gmi"
	gem_body /kept/ | grep -q '^# Kept index' || fail "index not served"
	gopher "$GOPHER_PORT" "1/kept/" | grep -q '^iKept index' ||
	    fail "index not the menu"
}

test_gopher_gophermap_replaces_menu() {
	mkdir -p "$SERVER_DIR/capsule/mapped"
	printf 'Welcome to the map\n0About\t/about.gmi\n1Elsewhere\t/x/\texample.org\t70\n' \
	    >"$SERVER_DIR/capsule/mapped/gophermap"
	gopher "$GOPHER_PORT" "1/mapped/" >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	grep -q "^iWelcome to the map	" "$SERVER_DIR/menu" || fail "info line"
	grep -q "^0About	/about.gmi	localhost	$GOPHER_PORT" "$SERVER_DIR/menu" ||
	    fail "host and port not filled in"
	grep -q "^1Elsewhere	/x/	example.org	70" "$SERVER_DIR/menu" ||
	    fail "foreign item changed"
}

test_gopher_search_type_7() {
	gopher "$GOPHER_PORT" "7/search%09gopher" >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	grep -q '^02026-03-12 Notes on Gopher	/blog/notes-on-gopher.gmi' \
	    "$SERVER_DIR/menu" || fail "search result missing"
	raw_gopher "$GOPHER_PORT" "/search?gemtext\r\n" |
	    grep -q 'Serving Markdown' || fail "?query search"
}

test_gopher_errors_are_type_3() {
	_r=$(raw_gopher "$GOPHER_PORT" "/no/such/thing\r\n"; echo x)
	case "$_r" in
	3*$'\r\n.\r\nx') ;;
	*) fail "missing selector: $_r" ;;
	esac
	raw_gopher "$GOPHER_PORT" "/.hidden\r\n" | grep -q '^3' ||
	    fail "dotfile served"
	raw_gopher "$GOPHER_PORT" "/../../etc/passwd\r\n" | grep -q '^3' ||
	    fail "traversal not refused"
	raw_gopher "$GOPHER_PORT" "/%2e%2e/%2e%2e/etc/passwd\r\n" | grep -q '^3' ||
	    fail "encoded traversal not refused"
	raw_gopher "$GOPHER_PORT" "/escape.txt\r\n" | grep -q '^3' ||
	    fail "symlink escape served"
}

test_gopher_draft_is_an_error() {
	printf -- '---\ntitle: Secret\ndraft: true\n---\nhidden\n' \
	    >"$SERVER_DIR/capsule/blog/gdraft.md"
	raw_gopher "$GOPHER_PORT" "/blog/gdraft.gmi\r\n" | grep -q '^3' ||
	    fail "draft served over Gopher"
	gopher "$GOPHER_PORT" "1/blog/" | grep -q gdraft && fail "draft listed"
	rm -f "$SERVER_DIR/capsule/blog/gdraft.md"
	return 0
}

test_gopher_long_and_binary_requests() {
	_r=$(raw_gopher "$GOPHER_PORT" "/$(printf 'a%.0s' $(seq 1 1100))\r\n")
	case "$_r" in 3*) ;; *) fail "1100-byte selector: ${_r:0:40}" ;; esac
	_r=$("$GEMCLIENT" -P -t 10 -R x:10000 127.0.0.1 "$GOPHER_PORT" "")
	case "$_r" in 3*) ;; *) fail "10000 bytes without newline: ${_r:0:40}" ;; esac
	_r=$(raw_gopher "$GOPHER_PORT" "/a\0b\r\n")
	case "$_r" in 3*) ;; *) fail "NUL in selector: ${_r:0:40}" ;; esac
	_r=$(raw_gopher "$GOPHER_PORT" "\x01\x02\xff\xfe garbage\r\n")
	case "$_r" in 3*) ;; *) fail "binary garbage: ${_r:0:40}" ;; esac
	log_has 'gopher "\\x01\\x02\\xff\\xfe garbage'
}

test_gopher_silent_client_closed_at_deadline() {
	_t0=$(date +%s%N)
	_r=$("$GEMCLIENT" -P -t 10 127.0.0.1 "$GOPHER_PORT" "/blog/")
	_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
	[ "$_ms" -lt 6000 ] || fail "no line end: closed after $_ms ms"
	case "$_r" in ""|3*) ;; *) fail "answered an unfinished request" ;; esac
}

test_gopher_http_request_gets_http_reply() {
	_r=$(curl -s --max-time 10 -i "http://127.0.0.1:$GOPHER_PORT/")
	case "$_r" in
	HTTP/1.0\ 400*gopher://*gemini://*) ;;
	*) fail "HTTP reply: ${_r:0:200}" ;;
	esac
	curl -s --max-time 10 -i "http://127.0.0.1:$GEMINI_PORT/" |
	    grep -q '^HTTP/1.0' || fail "no HTTP reply on the Gemini port"
}

test_gopher_url_selector_redirect_page() {
	_r=$(raw_gopher "$GOPHER_PORT" "URL:https://example.org/a?b=<c>\r\n")
	case "$_r" in
	*'http-equiv="refresh"'*'https://example.org/a?b=&lt;c&gt;'*) ;;
	*) fail "URL: page: ${_r:0:300}" ;;
	esac
}

test_gopher_tags_are_menus() {
	gopher "$GOPHER_PORT" "1/tags/" >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	grep -q "^1gemini (1)	/tags/gemini.gmi	localhost	$GOPHER_PORT" \
	    "$SERVER_DIR/menu" || fail "tag pages must be type 1"
	gopher "$GOPHER_PORT" "1/tags/gemini.gmi" >"$SERVER_DIR/menu"
	check_menu "$SERVER_DIR/menu"
	grep -q '^0.*Serving Markdown over Gemini	/blog/' "$SERVER_DIR/menu" ||
	    fail "tag page lacks its post"
}

# Files go out with sendfile on plain connections, in pieces when the
# client reads slower than the kernel sends: every byte must arrive.
test_gopher_large_file_sent_whole() {
	gopher "$GOPHER_PORT" "/big.bin" |
	    cmp -s - "$SERVER_DIR/capsule/big.bin" ||
	    fail "big.bin over Gopher differs"
	gopher "$GEMINI_PORT" "/big.bin" |
	    cmp -s - "$SERVER_DIR/capsule/big.bin" ||
	    fail "big.bin over the Gopher fallback differs"
}
