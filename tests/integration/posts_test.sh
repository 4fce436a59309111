# Markdown posts served as gemtext: header, feeds, tags, search, cache.

BLOG=/blog/my-journey-into-data-engineering

test_post_rendered_with_header() {
	[ "$(gem_header "$BLOG.gmi")" = "20 text/gemini; charset=utf-8; lang=en" ] ||
	    fail "header: $(gem_header "$BLOG.gmi")"
	_b=$(gem_body "$BLOG.gmi")
	[ "$(echo "$_b" | sed -n 1p)" = "# My Journey into Data Engineering" ] ||
	    fail "first line: $(echo "$_b" | sed -n 1p)"
	[ "$(echo "$_b" | sed -n 3p)" = "Published 2026-01-07" ] ||
	    fail "date line: $(echo "$_b" | sed -n 3p)"
	echo "$_b" | grep -qx "=> /assets/my-journey.png Cover image" ||
	    fail "no cover image link"
	[ "$(echo "$_b" | tail -n 1)" = "=> ./ All posts" ] ||
	    fail "last line: $(echo "$_b" | tail -n 1)"
	echo "$_b" | grep -q '^---' && fail "front matter leaked into the body"
	return 0
}

test_post_body_matches_render_command() {
	gem_body "$BLOG.gmi" >"$SERVER_DIR/served"
	# Run from the capsule's root, render uses the post's real URL.
	(cd "$SERVER_DIR/capsule" && "$OLDPWD/$CAPSULED" render \
	    blog/my-journey-into-data-engineering.md) \
	    >"$SERVER_DIR/rendered" 2>"$SERVER_DIR/render.err"
	cmp -s "$SERVER_DIR/served" "$SERVER_DIR/rendered" ||
	    fail "served body differs from capsuled render"
	[ -s "$SERVER_DIR/render.err" ] &&
	    fail "render reported: $(cat "$SERVER_DIR/render.err")"
	return 0
}

test_md_url_redirects_to_gmi() {
	expect_header "$(url "$BLOG.md")\r\n" "31 $BLOG.gmi"
}

test_blog_index_is_a_gemfeed() {
	_b=$(gem_body /blog/)
	[ "$(echo "$_b" | sed -n 1p)" = "# Blog" ] || fail "title: $_b"
	echo "$_b" | grep '^=> ' | head -n 3 >"$SERVER_DIR/feed"
	grep -q '^=> notes-on-gopher.gmi 2026-03-12 - Notes on Gopher$' \
	    "$SERVER_DIR/feed" || fail "entry missing: $(cat "$SERVER_DIR/feed")"
	[ "$(sed -n 1p "$SERVER_DIR/feed" | cut -d' ' -f3)" = 2026-03-12 ] ||
	    fail "not newest first"
	[ "$(sed -n 3p "$SERVER_DIR/feed" | cut -d' ' -f3)" = 2026-01-07 ] ||
	    fail "oldest not last"
	echo "$_b" | grep -qx '=> atom.xml Atom feed' || fail "no atom link"
}

test_atom_feed_is_valid_xml() {
	[ "$(gem_header /blog/atom.xml)" = "20 application/atom+xml" ] ||
	    fail "atom header: $(gem_header /blog/atom.xml)"
	gem_body /blog/atom.xml >"$SERVER_DIR/atom.xml"
	xmllint --noout "$SERVER_DIR/atom.xml" 2>"$SERVER_DIR/xmlerr" ||
	    fail "xmllint: $(cat "$SERVER_DIR/xmlerr")"
	[ "$(grep -c '<entry>' "$SERVER_DIR/atom.xml")" = 3 ] ||
	    fail "want 3 entries"
	grep -q "<id>gemini://localhost:$GEMINI_PORT$BLOG.gmi</id>" \
	    "$SERVER_DIR/atom.xml" || fail "entry id is not the gemini URL"
}

test_drafts_hidden_everywhere() {
	printf -- '---\ntitle: Secret plan\ndraft: true\ntags: [gemini]\n---\nsecretword\n' \
	    >"$SERVER_DIR/capsule/blog/secret.md"
	printf -- '---\ntitle: Unpublished\npublished: false\n---\nsecretword\n' \
	    >"$SERVER_DIR/capsule/blog/later.md"
	expect_header "$(url /blog/secret.gmi)\r\n" "51 *"
	expect_header "$(url /blog/later.gmi)\r\n" "51 *"
	gem_body /blog/ | grep -q 'secret\|later' && fail "draft in index"
	gem_body /blog/atom.xml | grep -q 'secret\|later' && fail "draft in atom"
	gem_body '/search?secretword' | grep -q 'secret.gmi\|later.gmi' && fail "draft in search"
	rm -f "$SERVER_DIR/capsule/blog/secret.md" "$SERVER_DIR/capsule/blog/later.md"
	return 0
}

test_front_matter_lang_on_header() {
	printf -- '---\ntitle: Bonjour\nlang: fr\n---\nSalut.\n' \
	    >"$SERVER_DIR/capsule/blog/bonjour.md"
	[ "$(gem_header /blog/bonjour.gmi)" = "20 text/gemini; charset=utf-8; lang=fr" ] ||
	    fail "header: $(gem_header /blog/bonjour.gmi)"
	rm -f "$SERVER_DIR/capsule/blog/bonjour.md"
}

test_edited_post_rerendered() {
	_f=$SERVER_DIR/capsule/blog/edit-me.md
	printf -- '---\ntitle: First version\n---\nalpha\n' >"$_f"
	# Ask every worker, so each has it cached.
	for _i in 1 2 3 4; do gem_body /blog/edit-me.gmi >/dev/null; done
	printf -- '---\ntitle: Second version\n---\nbeta\n' >"$_f"
	touch -d '+1 second' "$_f"
	for _i in 1 2 3 4; do
		gem_body /blog/edit-me.gmi | grep -q '^# Second version$' ||
		    fail "request $_i still served the old version"
	done
	rm -f "$_f"
}

# Each worker keeps a directory's feed page; an edit to a post in place
# (no change to the directory) must still show in it on the next request.
test_edited_post_updates_kept_feed() {
	_d=$SERVER_DIR/capsule/journal
	mkdir -p "$_d"
	printf -- '---\ntitle: Old title\ndate: 2026-04-01\n---\nx\n' >"$_d/day.md"
	sleep 2.1
	for _i in 1 2 3 4; do
		gem_body /journal/ | grep -q '^=> day.gmi 2026-04-01 - Old title$' ||
		    fail "feed lacks the post"
		curl -s --max-time 10 "gopher://127.0.0.1:$GOPHER_PORT/1/journal/" |
		    grep -q '^02026-04-01 Old title	' || fail "menu lacks the post"
	done
	printf -- '---\ntitle: New title\ndate: 2026-04-01\n---\ny\n' >"$_d/day.md"
	for _i in 1 2 3 4; do
		gem_body /journal/ | grep -q ' - New title$' ||
		    fail "request $_i still has the old title"
		curl -s --max-time 10 "gopher://127.0.0.1:$GOPHER_PORT/1/journal/" |
		    grep -q '^02026-04-01 New title	' ||
		    fail "Gopher request $_i still has the old title"
	done
	printf -- '---\ntitle: New title\ndraft: true\n---\ny\n' >"$_d/day.md"
	for _i in 1 2 3 4; do
		gem_body /journal/ | grep -q 'New title' && fail "draft still listed"
	done
	rm -rf "$_d"
}

test_broken_yaml_still_served_and_logged() {
	printf -- '---\ntitle: [unclosed\ndate: 2026-01-01\n---\nBody text here.\n' \
	    >"$SERVER_DIR/capsule/blog/broken-yaml.md"
	[ "$(gem -o status 127.0.0.1 "$GEMINI_PORT" "$(url /blog/broken-yaml.gmi)\r\n")" = 20 ] ||
	    fail "broken front matter not served"
	gem_body /blog/broken-yaml.gmi | grep -q 'Body text here.' ||
	    fail "body missing"
	gem_body /blog/broken-yaml.gmi | sed -n 1p | grep -qi 'broken yaml' ||
	    fail "title not from the file name"
	log_has 'blog/broken-yaml.md:[23]: '
	rm -f "$SERVER_DIR/capsule/blog/broken-yaml.md"
}

test_index_md_serves_directory() {
	mkdir -p "$SERVER_DIR/capsule/notes"
	printf -- '---\ntitle: My notes\n---\nSee [a](a.md).\n' \
	    >"$SERVER_DIR/capsule/notes/index.md"
	printf -- '# A\n' >"$SERVER_DIR/capsule/notes/a.md"
	_b=$(gem_body /notes/)
	echo "$_b" | grep -qx '# My notes' || fail "index.md not used: $_b"
	echo "$_b" | grep -q '^=> a.gmi\|^=> /notes/a.gmi' ||
	    fail ".md link not mapped to .gmi: $_b"
}

test_tags_pages() {
	_b=$(gem_body /tags/)
	echo "$_b" | grep -q '^=> /tags/gemini.gmi gemini' || fail "tags: $_b"
	echo "$_b" | grep -q '^=> /tags/small%20web.gmi small web' ||
	    fail "encoded tag missing: $_b"
	gem_body /tags/gemini.gmi | grep -q 'serving-markdown-over-gemini.gmi' ||
	    fail "tag page lacks its post"
	gem_body '/tags/small%20web.gmi' | grep -q 'notes-on-gopher.gmi' ||
	    fail "tag with a space"
	expect_header "$(url /tags/no-such-tag.gmi)\r\n" "51 *"
	expect_header "$(url /tags)\r\n" "31 /tags/"
}

test_search_asks_then_lists() {
	expect_header "$(url /search)\r\n" "10 *"
	_b=$(gem_body '/search?RFC%201436')
	echo "$_b" | grep -q 'notes-on-gopher.gmi' || fail "search: $_b"
	gem_body '/search?nothing-matches-this' | grep -q 'No posts match' ||
	    fail "empty result"
	expect_header "$(url '/search?%zz')\r\n" "59 *"
}

test_too_large_post_answers_40() {
	_f=$SERVER_DIR/capsule/blog/huge-post.md
	printf -- '---\ntitle: Huge\n---\n' >"$_f"
	head -c 5000000 /dev/zero | tr '\0' 'a' >>"$_f"
	expect_header "$(url /blog/huge-post.gmi)\r\n" "40 *"
	log_has 'huge-post.md'
	rm -f "$_f"
}

test_pathological_post_bounded() {
	_f=$SERVER_DIR/capsule/blog/deep.md
	head -c 40000 /dev/zero | tr '\0' '>' >"$_f"
	printf ' x\n' >>"$_f"
	for _i in $(seq 1 3000); do printf -- '- ' ; done >>"$_f"
	printf 'item\n' >>"$_f"
	_t0=$(date +%s)
	_s=$(gem -t 20 -o status 127.0.0.1 "$GEMINI_PORT" "$(url /blog/deep.gmi)\r\n")
	case "$_s" in 20|40) ;; *) fail "status '$_s'" ;; esac
	[ $(( $(date +%s) - _t0 )) -lt 10 ] || fail "took too long"
	rm -f "$_f"
}

test_check_command_reports_findings() {
	"$CAPSULED" check capsule >/dev/null 2>&1 ||
	    fail "check fails on the sample capsule"
	_d=$(mktemp -d "$WORK/chk.XXXXXX")
	printf -- '---\ntitle: x\npubDate: 01/07/2026\nheroImage: ./none.png\n---\n[l](gone.md)\n' \
	    >"$_d/p.md"
	_out=$("$CAPSULED" check "$_d" 2>/dev/null)
	_rc=$?
	[ "$_rc" -eq 1 ] || fail "check exit $_rc with findings"
	echo "$_out" | grep -q "^$_d/p.md:3: " || fail "date finding: $_out"
	echo "$_out" | grep -q "^$_d/p.md:4: " || fail "cover finding: $_out"
	echo "$_out" | grep -q "^$_d/p.md:6: .*gone.md" || fail "link finding: $_out"
}

test_failed_render_is_remembered() {
	_f=$SERVER_DIR/capsule/blog/wide.md
	{ printf '| a | b | c |\n|---|---|---|\n'
	  for _i in $(seq 1 150000); do echo '| x | y | z |'; done; } >"$_f"
	for _i in $(seq 1 10); do
		expect_header "$(url /blog/wide.gmi)\r\n" "40 *"
	done
	# Each of the two workers tries at most twice, once while the file
	# is new and once when it has settled; the rest reuse the failure.
	_n=$(grep -c 'wide.md: cannot render' "$SERVER_DIR/log")
	[ "$_n" -ge 1 ] && [ "$_n" -le 4 ] || fail "$_n render attempts logged"
	gem_body /blog/ | grep -q wide && fail "unrenderable post listed"
	rm -f "$_f"
	return 0
}
