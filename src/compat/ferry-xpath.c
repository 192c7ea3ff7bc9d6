/*
 * ferry-xpath: OpenNebula's remotes/datastore/xpath.rb, without starting Ruby.
 *
 * Why it exists: OpenNebula's driver scripts look every field of their action
 * dump up through xpath.rb, which starts Ruby and REXML (about 63 ms a call).
 * This program gives the same bytes on stdout and the same exit status for the
 * forms the drivers use, in about a millisecond. It is run by ferry's drop-in
 * (scripts/opennebula/xpath.rb), which is installed as remotes/datastore/xpath.rb.
 *
 * The contract is xpath.rb's: `[-b B64 | --base64 B64 | -s | --stdin] [--] XPATH...`.
 * The dump is the base64 argument (decoded) or stdin (as XML, not decoded).
 * For each XPATH it prints a value and a NUL byte: the text of the first
 * matching element (REXML's Element#text: its first text or CDATA child,
 * entities decoded, whitespace kept), or with a `%m%` prefix the text of every
 * match joined by a space. A path that matches no element, or an element with
 * no text, prints an empty value and counts as missing; `%m%` never counts.
 * The exit status is the number of missing values, modulo 256.
 *
 * The subset handled here (anything else falls back, see below):
 *   options  -s --stdin -b B64 --base64 B64 --base64=B64 --, in any order
 *   base64   the alphabet A-Z a-z 0-9 + /, line feeds, a length that is a
 *            multiple of 4, and `=` padding only at the end
 *   XML      UTF-8 text, an optional `<?xml version="1.0" encoding="UTF-8"?>`,
 *            comments, one root element, elements with ASCII names and simple
 *            attributes (no namespaces), text, CDATA, the five named entities
 *            and numeric character references; at most 8 MiB, 64 levels deep
 *   XPath    `/A/B`, `A/B` (from the root element), `//A/B`, and on any step
 *            the predicates [N], [last()], [last()-N], [NAME=123], [NAME='x']
 *            (with REXML's comparisons: numbers as numbers, and the raw
 *            string value of NAME otherwise), with an optional `%m%` prefix
 *
 * The fallback rule: whenever the input is outside that subset, or anything
 * looks odd (a DOCTYPE, a carriage return, -t/--subtree, `@attr`, functions,
 * numbers such as 0x1A or 1.5, malformed XML, characters outside base64,
 * POSIXLY_CORRECT, an entity expansion near REXML's 10 KiB limit, ...), it has
 * written nothing yet, and it runs the real thing instead:
 *   exec ruby "$FERRY_XPATH_RUBY" <the same arguments>
 * with the same stdin bytes (when it has read stdin already, a forked writer
 * feeds them to Ruby through a pipe). FERRY_XPATH_RUBY is OpenNebula's own
 * xpath.rb; RUBYLIB gets the folder that holds load_opennebula_paths.rb
 * ($ONE_LOCATION/lib/ruby, else three folders above the script, then lib/ruby).
 * Without FERRY_XPATH_RUBY it says so on stderr and exits 255.
 * FERRY_XPATH_TRACE=1 prints why it fell back.
 *
 * One file, no dependencies: the build compiles it with one cc call.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_INPUT (8u * 1024u * 1024u) /* ferry's limit for a dump (src/dump/xml.ts) */
#define MAX_DEPTH 64                   /* likewise */
#define TEXT_LIMIT 10000               /* under REXML's 10240-byte entity expansion limit */
#define MAX_STEPS 80
#define MAX_PREDS 8
#define MAX_ATTRS 64

static int g_argc;
static char **g_argv;
static unsigned char *g_in;     /* the stdin bytes read so far, when the dump came on stdin */
static size_t g_in_len;
static int g_in_read, g_in_eof; /* stdin was read; to its end */

/* ---- the fallback ---------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Stdin was consumed: a grandchild (so nobody has to reap it) writes what was read, then the rest. */
static void feed_stdin_through_pipe(void) {
  int fds[2];
  if (pipe(fds) != 0) { perror("ferry-xpath: pipe"); exit(255); }
  pid_t child = fork();
  if (child < 0) { perror("ferry-xpath: fork"); exit(255); }
  if (child == 0) {
    if (fork() != 0) _exit(0);
    signal(SIGPIPE, SIG_DFL);
    close(fds[0]);
    if (write_all(fds[1], g_in, g_in_len) != 0) _exit(1);
    char buf[65536];
    for (;;) {
      if (g_in_eof) break;
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || write_all(fds[1], buf, (size_t)n) != 0) break;
    }
    _exit(0);
  }
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
  close(fds[1]);
  if (dup2(fds[0], 0) < 0) { perror("ferry-xpath: dup2"); exit(255); }
  close(fds[0]);
}

static void set_rubylib(const char *script) {
  const char *one = getenv("ONE_LOCATION"), *old = getenv("RUBYLIB");
  size_t need = strlen(script) + (one ? strlen(one) : 0) + (old ? strlen(old) : 0) + 32;
  char *lib = malloc(need);
  if (lib == NULL) return;
  if (one != NULL && *one != '\0') {
    snprintf(lib, need, "%s/lib/ruby", one);
  } else {
    const char *slash = strrchr(script, '/');
    int dirlen = slash ? (int)(slash - script) : 1;
    snprintf(lib, need, "%.*s/../../../lib/ruby", dirlen, slash ? script : ".");
  }
  if (old != NULL && *old != '\0') {
    size_t used = strlen(lib);
    snprintf(lib + used, need - used, ":%s", old);
  }
  setenv("RUBYLIB", lib, 1);
  free(lib);
}

static _Noreturn void fallback(const char *why) {
  const char *script = getenv("FERRY_XPATH_RUBY");
  if (getenv("FERRY_XPATH_TRACE") != NULL) fprintf(stderr, "ferry-xpath: falling back to REXML: %s\n", why);
  if (script == NULL || *script == '\0' || access(script, R_OK) != 0) {
    fprintf(stderr, "ferry-xpath: %s, so this lookup needs OpenNebula's xpath.rb under Ruby, but FERRY_XPATH_RUBY (%s) is not a readable file\n"
            "  hint: run remotes/datastore/xpath.rb (ferry's drop-in sets FERRY_XPATH_RUBY to xpath-rexml.rb beside itself)\n",
            why, script ? script : "unset");
    exit(255);
  }
  set_rubylib(script);
  if (g_in_read) feed_stdin_through_pipe();
  char **args = calloc((size_t)g_argc + 2, sizeof *args);
  if (args == NULL) { fputs("ferry-xpath: out of memory\n", stderr); exit(255); }
  args[0] = "ruby";
  args[1] = (char *)script;
  for (int i = 1; i < g_argc; i++) args[i + 1] = g_argv[i];
  execvp("ruby", args);
  fprintf(stderr, "ferry-xpath: cannot run ruby (%s) for %s\n  hint: install Ruby (apt-get install ruby)\n", strerror(errno), script);
  exit(255);
}

static void *xalloc(size_t size) {
  void *p = calloc(1, size);
  if (p == NULL) fallback("out of memory");
  return p;
}

/* ---- input ----------------------------------------------------------------- */

static void read_stdin(void) {
  size_t cap = 65536;
  g_in = malloc(cap);
  if (g_in == NULL) fallback("out of memory");
  g_in_read = 1;
  for (;;) {
    if (g_in_len == cap) {
      if (cap > MAX_INPUT) fallback("stdin is over 8 MiB");
      unsigned char *more = realloc(g_in, cap * 2);
      if (more == NULL) fallback("out of memory");
      g_in = more;
      cap *= 2;
    }
    ssize_t n = read(0, g_in + g_in_len, cap - g_in_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fallback("cannot read stdin");
    if (n == 0) break;
    g_in_len += (size_t)n;
  }
  g_in_eof = 1;
  if (g_in_len > MAX_INPUT) fallback("stdin is over 8 MiB");
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Strict base64 (plus line feeds), where Ruby's lenient Base64.decode64 gives the same bytes. */
static unsigned char *decode_base64(const char *text, size_t *out_len) {
  size_t len = strlen(text);
  if (len > MAX_INPUT / 3 * 4 + 4096) fallback("the base64 dump is over 8 MiB");
  unsigned char *out = xalloc(len / 4 * 3 + 4);
  unsigned quad[4];
  size_t n = 0, o = 0, pad = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') continue;
    if (c == '=') { pad++; quad[n++] = 0; }
    else {
      int v = b64_value(c);
      if (v < 0 || pad > 0) fallback("the base64 dump has a character outside base64, or data after its padding");
      quad[n++] = (unsigned)v;
    }
    if (n == 4) {
      if (pad > 2) fallback("the base64 dump has misplaced padding");
      out[o++] = (unsigned char)(quad[0] << 2 | quad[1] >> 4);
      if (pad < 2) out[o++] = (unsigned char)((quad[1] & 15) << 4 | quad[2] >> 2);
      if (pad < 1) out[o++] = (unsigned char)((quad[2] & 3) << 6 | quad[3]);
      n = 0;
      if (pad > 0) pad = 3; /* nothing may follow a padded group */
    }
  }
  if (n != 0) fallback("the base64 dump's length is not a multiple of 4");
  *out_len = o;
  return out;
}

/* UTF-8 made only of characters XML allows, without carriage returns or a byte order mark. */
static void check_text(const unsigned char *s, size_t len) {
  if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) fallback("the dump starts with a byte order mark");
  for (size_t i = 0; i < len;) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (c == '\r') fallback("the dump has a carriage return");
      if (c < 0x20 && c != '\t' && c != '\n') fallback("the dump has a control character");
      i++;
      continue;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > len) fallback("the dump is not UTF-8");
    unsigned long cp = c & (0x3F >> (n - 1));
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) fallback("the dump is not UTF-8");
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
      fallback("the dump has a character XML does not allow");
    i += n;
  }
}

/* ---- the XML tree ---------------------------------------------------------- */

enum { N_DOC, N_ELEM, N_TEXT, N_CDATA };
typedef struct Node {
  int kind;
  const char *s; /* name of an element; raw bytes of a text or CDATA */
  size_t n;
  size_t order; /* document order of elements */
  struct Node *first, *last, *next;
} Node;

typedef struct { const char *p, *end; size_t order; Node **all; size_t nall, capall; } Parser;

static int at(Parser *ps, const char *lit) {
  size_t n = strlen(lit);
  return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n'; }
static void skip_ws(Parser *ps) { while (ps->p < ps->end && is_ws(*ps->p)) ps->p++; }
static int name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }

static size_t parse_name(Parser *ps) {
  const char *start = ps->p;
  if (ps->p >= ps->end || !name_start(*ps->p)) fallback("an element or attribute name outside the ASCII subset");
  while (ps->p < ps->end && name_char(*ps->p)) ps->p++;
  if (ps->p < ps->end && !is_ws(*ps->p) && *ps->p != '/' && *ps->p != '>' && *ps->p != '=')
    fallback("an element or attribute name outside the ASCII subset");
  return (size_t)(ps->p - start);
}

static Node *add_child(Node *parent, int kind, const char *s, size_t n) {
  Node *node = xalloc(sizeof *node);
  node->kind = kind;
  node->s = s;
  node->n = n;
  if (parent->last) parent->last->next = node; else parent->first = node;
  parent->last = node;
  return node;
}

/* A reference at p (just after '&'): its length up to ';' and its code point, or fallback. */
static size_t reference(const char *p, const char *end, unsigned long *cp) {
  static const char *const named[5] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
  static const char chars[5] = {'&', '<', '>', '"', '\''};
  for (int i = 0; i < 5; i++) {
    size_t n = strlen(named[i]);
    if ((size_t)(end - p) >= n && memcmp(p, named[i], n) == 0) { *cp = (unsigned char)chars[i]; return n; }
  }
  if (p < end && *p == '#') {
    int hex = p + 1 < end && p[1] == 'x';
    const char *q = p + 1 + hex;
    unsigned long v = 0;
    int digits = 0;
    for (; q < end && digits <= 8; q++, digits++) {
      int d = (*q >= '0' && *q <= '9') ? *q - '0' : (hex && *q >= 'a' && *q <= 'f') ? *q - 'a' + 10 : (hex && *q >= 'A' && *q <= 'F') ? *q - 'A' + 10 : -1;
      if (d < 0) break;
      v = v * (hex ? 16 : 10) + (unsigned long)d;
    }
    int ok_char = v == 9 || v == 10 || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) || (v >= 0x10000 && v <= 0x10FFFF);
    if (digits >= 1 && digits <= 8 && q < end && *q == ';' && ok_char) { *cp = v; return (size_t)(q - p) + 1; }
  }
  fallback("an '&' that is not one of XML's five entities or a valid character reference");
}

static void parse_text(Parser *ps, Node *parent) {
  const char *start = ps->p;
  int refs = 0;
  while (ps->p < ps->end && *ps->p != '<') {
    if (*ps->p == '&') {
      unsigned long cp;
      ps->p += reference(ps->p + 1, ps->end, &cp) + 1;
      refs++;
    } else if (*ps->p == '>' && ps->p - start >= 2 && ps->p[-1] == ']' && ps->p[-2] == ']') {
      fallback("']]>' in text");
    } else {
      ps->p++;
    }
  }
  if (refs * 4 > TEXT_LIMIT) fallback("a text with more entity references than REXML expands");
  if (ps->p > start) add_child(parent, N_TEXT, start, (size_t)(ps->p - start));
}

/* A comment at ps->p (after "<!--"), up to and past "-->". */
static void skip_comment(Parser *ps) {
  for (const char *q = ps->p; q + 1 < ps->end; q++) {
    if (q[0] == '-' && q[1] == '-') {
      if (q + 2 < ps->end && q[2] == '>') { ps->p = q + 3; return; }
      fallback("'--' inside a comment");
    }
  }
  fallback("an unterminated comment");
}

static void parse_element(Parser *ps, Node *parent, int depth) {
  if (depth > MAX_DEPTH) fallback("elements nest more than 64 deep");
  const char *name = ps->p;
  size_t nlen = parse_name(ps);
  Node *el = add_child(parent, N_ELEM, name, nlen);
  el->order = ps->order++;
  const char *attrs[MAX_ATTRS];
  size_t alens[MAX_ATTRS], nattrs = 0;
  for (;;) {
    int had_ws = ps->p < ps->end && is_ws(*ps->p);
    skip_ws(ps);
    if (at(ps, "/>")) { ps->p += 2; return; }
    if (at(ps, ">")) { ps->p++; break; }
    if (!had_ws || nattrs == MAX_ATTRS) fallback("an attribute list outside the subset");
    const char *an = ps->p;
    size_t al = parse_name(ps);
    if ((al == 5 && memcmp(an, "xmlns", 5) == 0)) fallback("a namespace declaration");
    for (size_t i = 0; i < nattrs; i++)
      if (alens[i] == al && memcmp(attrs[i], an, al) == 0) fallback("a repeated attribute");
    attrs[nattrs] = an;
    alens[nattrs++] = al;
    skip_ws(ps);
    if (!at(ps, "=")) fallback("an attribute without a value");
    ps->p++;
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\'')) fallback("an unquoted attribute value");
    char quote = *ps->p++;
    while (ps->p < ps->end && *ps->p != quote) {
      if (*ps->p == '<' || *ps->p == '&') fallback("'<' or '&' in an attribute value");
      ps->p++;
    }
    if (ps->p >= ps->end) fallback("an unterminated attribute value");
    ps->p++;
  }
  for (;;) {
    parse_text(ps, el);
    if (ps->p >= ps->end) fallback("an element without its end tag");
    if (at(ps, "</")) {
      ps->p += 2;
      const char *close = ps->p;
      size_t clen = parse_name(ps);
      if (clen != nlen || memcmp(close, name, nlen) != 0) fallback("an end tag that does not match");
      skip_ws(ps);
      if (!at(ps, ">")) fallback("a malformed end tag");
      ps->p++;
      return;
    } else if (at(ps, "<!--")) {
      ps->p += 4;
      skip_comment(ps);
    } else if (at(ps, "<![CDATA[")) {
      ps->p += 9;
      const char *start = ps->p;
      while (ps->p + 2 < ps->end && !(ps->p[0] == ']' && ps->p[1] == ']' && ps->p[2] == '>')) ps->p++;
      if (ps->p + 2 >= ps->end) fallback("an unterminated CDATA section");
      add_child(el, N_CDATA, start, (size_t)(ps->p - start));
      ps->p += 3;
    } else if (at(ps, "<?") || at(ps, "<!")) {
      fallback("a processing instruction or declaration inside an element");
    } else {
      ps->p++;
      parse_element(ps, el, depth + 1);
    }
  }
}

/* Comments and whitespace before and after the root element. */
static void parse_misc(Parser *ps) {
  for (;;) {
    skip_ws(ps);
    if (!at(ps, "<!--")) return;
    ps->p += 4;
    skip_comment(ps);
  }
}

static void parse_declaration(Parser *ps) {
  static const char *const forms[] = {
      "<?xml version=\"1.0\"?>", "<?xml version='1.0'?>",
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<?xml version='1.0' encoding='UTF-8'?>",
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>", "<?xml version='1.0' encoding='utf-8'?>",
  };
  if (!at(ps, "<?xml")) return;
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    if (at(ps, forms[i])) { ps->p += strlen(forms[i]); return; }
  fallback("an XML declaration outside the subset");
}

static Node *parse_document(const unsigned char *text, size_t len) {
  if (len > MAX_INPUT) fallback("the dump is over 8 MiB");
  check_text(text, len);
  Parser ps = {(const char *)text, (const char *)text + len, 0, NULL, 0, 0};
  Node *doc = xalloc(sizeof *doc);
  doc->kind = N_DOC;
  parse_declaration(&ps);
  parse_misc(&ps);
  if (!at(&ps, "<") || at(&ps, "<!") || at(&ps, "<?")) fallback("no root element, or a DOCTYPE or instruction before it");
  ps.p++;
  parse_element(&ps, doc, 1);
  parse_misc(&ps);
  if (ps.p != ps.end) fallback("content after the root element");
  return doc;
}

typedef struct { char *s; size_t n, cap; } Buf;

static void put(Buf *b, const void *s, size_t n) {
  if (b->cap - b->n < n) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < n) cap *= 2;
    char *more = realloc(b->s, cap);
    if (more == NULL) fallback("out of memory");
    b->s = more;
    b->cap = cap;
  }
  if (n > 0) memcpy(b->s + b->n, s, n);
  b->n += n;
}

/* ---- XPath ----------------------------------------------------------------- */

enum { P_POS, P_LAST, P_NUM, P_STR };
typedef struct { int kind; long n; double num; const char *name, *lit; size_t nlen, llen; } Pred;
typedef struct { const char *name; size_t nlen; Pred preds[MAX_PREDS]; int npreds; } Step;
typedef struct { Step steps[MAX_STEPS]; int nsteps, multi, anywhere, absolute; } Path;
typedef struct { Node **v; size_t n, cap; } Set;

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* An XPath name: ASCII letters, digits and '_', and none of XPath's operator names. */
static size_t xpath_name(const char *p) {
  size_t n = 0;
  if (!name_start(p[0])) return 0;
  while (name_start(p[n]) || is_digit(p[n])) n++;
  static const char *const words[] = {"and", "or", "div", "mod"};
  for (size_t i = 0; i < 4; i++)
    if (strlen(words[i]) == n && memcmp(words[i], p, n) == 0) return 0;
  return n;
}

/* Digits (no leading zero unless alone), at most max of them: their value, or -1. */
static long xpath_int(const char **pp, int max) {
  const char *p = *pp;
  int n = 0;
  while (is_digit(p[n])) n++;
  if (n == 0 || n > max || (p[0] == '0' && n > 1)) return -1;
  long v = 0;
  for (int i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
  *pp = p + n;
  return v;
}

static void parse_pred(const char **pp, Pred *pred) {
  const char *p = *pp;
  long v;
  if (is_digit(*p)) {
    if ((v = xpath_int(&p, 9)) < 1) fallback("a position outside the subset");
    pred->kind = P_POS;
    pred->n = v;
  } else if (strncmp(p, "last()", 6) == 0) {
    p += 6;
    pred->kind = P_LAST;
    if (*p == '-') {
      p++;
      if ((pred->n = xpath_int(&p, 9)) < 0) fallback("last() minus something outside the subset");
    }
  } else {
    size_t n = xpath_name(p);
    if (n == 0 || p[n] != '=') fallback("a predicate outside the subset");
    pred->name = p;
    pred->nlen = n;
    p += n + 1;
    if (*p == '\'' || *p == '"') {
      const char *close = strchr(p + 1, *p);
      if (close == NULL) fallback("an unterminated string");
      pred->lit = p + 1;
      pred->llen = (size_t)(close - p - 1);
      size_t digits = 0;
      while (digits < pred->llen && is_digit(pred->lit[digits])) digits++;
      if (pred->llen > 0 && digits == pred->llen) { /* REXML compares an all-digit string as a number */
        const char *q = pred->lit;
        if ((v = xpath_int(&q, 15)) < 0) fallback("a number outside the subset");
        pred->kind = P_NUM;
        pred->num = (double)v;
      } else {
        if (digits > 0 && pred->lit[digits] == '.') fallback("a decimal string");
        pred->kind = P_STR;
      }
      p = close + 1;
    } else {
      if ((v = xpath_int(&p, 15)) < 0) fallback("a comparison outside the subset");
      pred->kind = P_NUM;
      pred->num = (double)v;
    }
  }
  if (*p != ']') fallback("a predicate outside the subset");
  *pp = p + 1;
}

static void parse_path(const char *expr, Path *path) {
  for (const char *c = expr; *c; c++)
    if (*c <= ' ' || *c > '~') fallback("an xpath with spaces or characters outside ASCII");
  memset(path, 0, sizeof *path);
  const char *p = expr;
  if (strncmp(p, "%m%", 3) == 0) { path->multi = 1; p += 3; }
  if (strncmp(p, "//", 2) == 0) { path->anywhere = path->absolute = 1; p += 2; }
  else if (*p == '/') { path->absolute = 1; p++; }
  for (;;) {
    if (path->nsteps == MAX_STEPS) fallback("an xpath with too many steps");
    Step *step = &path->steps[path->nsteps++];
    if ((step->nlen = xpath_name(p)) == 0) fallback("an xpath step outside the subset");
    step->name = p;
    p += step->nlen;
    while (*p == '[') {
      if (step->npreds == MAX_PREDS) fallback("too many predicates");
      p++;
      parse_pred(&p, &step->preds[step->npreds++]);
    }
    if (*p == '\0') return;
    if (*p != '/') fallback("an xpath outside the subset");
    p++;
  }
}

static void push(Set *set, Node *node) {
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 16;
    Node **v = realloc(set->v, cap * sizeof *v);
    if (v == NULL) fallback("out of memory");
    set->v = v;
    set->cap = cap;
  }
  set->v[set->n++] = node;
}

static int named(const Node *node, const char *name, size_t n) {
  return node->kind == N_ELEM && node->n == n && memcmp(node->s, name, n) == 0;
}

/* REXML's string value: the raw text (references as written) and CDATA of the element and its descendants. */
static void string_value(const Node *el, Buf *b) {
  for (const Node *c = el->first; c; c = c->next) {
    if (c->kind == N_ELEM) string_value(c, b);
    else put(b, c->s, c->n);
  }
}

/* REXML's number(): optional spaces, -?(\d+(\.\d*)?|\.\d+), optional spaces; anything else is NaN. */
static int number_equals(const char *s, size_t n, double want) {
  while (n > 0 && is_ws(*s)) { s++; n--; }
  while (n > 0 && is_ws(s[n - 1])) n--;
  size_t i = 0, digits = 0, before = 0;
  if (i < n && s[i] == '-') i++;
  while (i < n && is_digit(s[i])) { i++; before++; }
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && is_digit(s[i])) { i++; digits++; }
    if (before == 0 && digits == 0) return 0;
  } else if (before == 0) {
    return 0;
  }
  if (i != n) return 0;
  if (before + digits > 17) fallback("a number with more digits than a double holds");
  char buf[32];
  memcpy(buf, s, n);
  buf[n] = '\0';
  return strtod(buf, NULL) == want;
}

static int pred_holds(const Node *el, const Pred *pred) {
  for (const Node *c = el->first; c; c = c->next) {
    if (!named(c, pred->name, pred->nlen)) continue;
    Buf value = {0};
    string_value(c, &value);
    int hit = pred->kind == P_NUM ? number_equals(value.s, value.n, pred->num) : (value.n == pred->llen && (value.n == 0 || memcmp(value.s, pred->lit, value.n) == 0));
    free(value.s);
    if (hit) return 1;
  }
  return 0;
}

/* One step from one context node: its children with the step's name, filtered by each predicate in turn. */
static void step_from(const Node *ctx, const Step *step, Set *out) {
  Set cur = {0};
  for (Node *c = ctx->first; c; c = c->next)
    if (named(c, step->name, step->nlen)) push(&cur, c);
  for (int k = 0; k < step->npreds && cur.n > 0; k++) {
    const Pred *pred = &step->preds[k];
    size_t kept = 0;
    for (size_t i = 0; i < cur.n; i++) {
      long position = (long)i + 1, size = (long)cur.n;
      int keep = pred->kind == P_POS ? position == pred->n : pred->kind == P_LAST ? position == size - pred->n : pred_holds(cur.v[i], pred);
      if (keep) cur.v[kept++] = cur.v[i];
    }
    cur.n = kept;
  }
  for (size_t i = 0; i < cur.n; i++) push(out, cur.v[i]);
  free(cur.v);
}

static void every_node(Node *node, Set *out) {
  if (node->kind != N_DOC && node->kind != N_ELEM) return;
  push(out, node);
  for (Node *c = node->first; c; c = c->next) every_node(c, out);
}

static int by_order(const void *a, const void *b) {
  size_t x = (*(Node *const *)a)->order, y = (*(Node *const *)b)->order;
  return x < y ? -1 : x > y;
}

static Set select_path(Node *doc, const Path *path) {
  Set ctx = {0};
  if (path->anywhere) every_node(doc, &ctx);
  else push(&ctx, path->absolute ? doc : doc->first);
  for (int s = 0; s < path->nsteps; s++) {
    Set out = {0};
    for (size_t i = 0; i < ctx.n; i++) step_from(ctx.v[i], &path->steps[s], &out);
    if (s == 0 && path->anywhere && out.n > 1) qsort(out.v, out.n, sizeof *out.v, by_order);
    free(ctx.v);
    ctx = out;
  }
  return ctx;
}

/* ---- output ---------------------------------------------------------------- */

static void put_utf8(Buf *b, unsigned long cp) {
  unsigned char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (unsigned char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | cp >> 6); u[1] = (unsigned char)(0x80 | (cp & 63)); n = 2; }
  else if (cp < 0x10000) { u[0] = (unsigned char)(0xE0 | cp >> 12); u[1] = (unsigned char)(0x80 | (cp >> 6 & 63)); u[2] = (unsigned char)(0x80 | (cp & 63)); n = 3; }
  else { u[0] = (unsigned char)(0xF0 | cp >> 18); u[1] = (unsigned char)(0x80 | (cp >> 12 & 63)); u[2] = (unsigned char)(0x80 | (cp >> 6 & 63)); u[3] = (unsigned char)(0x80 | (cp & 63)); n = 4; }
  put(b, u, n);
}

/* REXML's Element#text: the first text or CDATA child, references decoded; 0 when there is none. */
static int put_text(Buf *b, const Node *el) {
  const Node *t = el->first;
  while (t && t->kind != N_TEXT && t->kind != N_CDATA) t = t->next;
  if (t == NULL) return 0;
  if (t->kind == N_CDATA) { put(b, t->s, t->n); return 1; }
  const char *p = t->s, *end = t->s + t->n;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if (amp == NULL) { put(b, p, (size_t)(end - p)); break; }
    put(b, p, (size_t)(amp - p));
    unsigned long cp;
    p = amp + 1 + reference(amp + 1, end, &cp);
    put_utf8(b, cp);
  }
  return 1;
}

int main(int argc, char **argv) {
  g_argc = argc;
  g_argv = argv;
  if (getenv("POSIXLY_CORRECT") != NULL) fallback("POSIXLY_CORRECT changes how options are read");
  const char *b64 = NULL;
  char **exprs = xalloc(((size_t)argc + 1) * sizeof *exprs);
  int nexprs = 0, rest = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (rest || a[0] != '-' || a[1] == '\0') exprs[nexprs++] = argv[i];
    else if (strcmp(a, "--") == 0) rest = 1;
    else if (strcmp(a, "-s") == 0 || strcmp(a, "--stdin") == 0) b64 = NULL;
    else if ((strcmp(a, "-b") == 0 || strcmp(a, "--base64") == 0) && i + 1 < argc && argv[i + 1][0] != '-') b64 = argv[++i];
    else if (strncmp(a, "--base64=", 9) == 0) b64 = a + 9;
    else fallback("an option outside the subset");
  }
  for (int i = 0; i < nexprs; i++)
    if (exprs[i][0] == '\0') fallback("an empty xpath");
  const unsigned char *doc_text;
  size_t doc_len;
  if (b64 != NULL) {
    doc_text = decode_base64(b64, &doc_len);
  } else {
    read_stdin();
    doc_text = g_in;
    doc_len = g_in_len;
  }
  Node *doc = parse_document(doc_text, doc_len);
  Buf out = {0};
  unsigned missing = 0;
  Path path;
  for (int i = 0; i < nexprs; i++) {
    parse_path(exprs[i], &path);
    Set found = select_path(doc, &path);
    if (path.multi) {
      for (size_t k = 0; k < found.n; k++) {
        if (k > 0) put(&out, " ", 1);
        put_text(&out, found.v[k]);
      }
    } else if (found.n == 0 || !put_text(&out, found.v[0])) {
      missing++;
    }
    put(&out, "", 1);
    free(found.v);
  }
  if (write_all(1, out.s, out.n) != 0) {
    fprintf(stderr, "ferry-xpath: cannot write the values: %s\n", strerror(errno));
    return 1;
  }
  return (int)(missing & 255);
}
