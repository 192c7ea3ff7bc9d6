/*
 * ferry-spawn: ferry's fork server.
 *
 * Why it exists: Node forks its whole process to start a child. The kernel
 * copies the page tables of a 50-60 MiB heap and the parent then takes a
 * copy-on-write fault on every page it touches afterwards, about 1.5 ms of
 * CPU per script on top of the script itself. This helper is a 22 KiB
 * program; it starts scripts with posix_spawn (clone with CLONE_VFORK in
 * glibc, no page tables copied) and passes their output back to ferry over
 * one pipe, so `ferry mad` pays for Node's fork once.
 *
 * One file on purpose: the build compiles it with one cc call, no build system.
 *
 * It is started by src/driver/launch/helper-launch.ts and speaks only to it, over its
 * stdin (requests) and stdout (replies). Every frame, both ways, is
 *   u32 length (of what follows, little-endian), u8 type, u32 token, payload
 * where token is ferry's number for one script run.
 *
 * Requests:
 *   'S' start: u32 flags (1: stdin is a pipe fed with the input bytes, else
 *       /dev/null), u32 argc, u32 envc, then argc + envc + 1 NUL-terminated
 *       strings (argv, with argv[0] the script's path; "NAME=value"; the
 *       working folder, empty for ferry's own), then the input bytes.
 *   'R' release: close the script's output pipes now (processes it left,
 *       already killed, still hold them: a stopped grandchild, say).
 * Replies:
 *   'H' (token 0) the greeting, first, with u32 protocol version 1
 *   'P' started, i32 pid      'F' could not start, i32 errno
 *   'O' stdout bytes          'E' stderr bytes
 *   'o' stdout closed         'e' stderr closed
 *   'X' exited, i32 exit code (-1 when killed), i32 signal (0 when exited)
 *
 * Each script is the leader of a new session and process group (setsid), as
 * Node's `detached: true` makes it, so ferry can signal its whole group.
 * When ferry goes away (EOF on stdin) the helper kills every group it
 * started that is still known to it, and exits.
 *
 * Exit status: 0 after EOF on stdin, 70 on a malformed request (a bug in
 * ferry), 71 when a system call it cannot do without fails; on 70 and 71 it
 * first kills every process group it started. It ignores SIGINT, SIGQUIT,
 * SIGHUP and SIGTERM, which reach it with ferry's process group: ferry
 * decides, then closes its stdin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define EXIT_PROTOCOL 70
#define EXIT_SYSTEM 71

struct child {
	uint32_t token;
	pid_t pid;
	int out;       /* read end of its stdout, -1 once closed */
	int err;       /* read end of its stderr, -1 once closed */
	int in;        /* write end of its stdin while input is left, else -1 */
	char *input;   /* input bytes still to write */
	size_t input_len;
	size_t input_off;
	int exited;
};

static struct child *children;
static size_t nchildren;
static size_t children_cap;

static char *reply;        /* replies waiting for the next flush */
static size_t reply_len;
static size_t reply_cap;

/* kill_all(): SIGKILLs every process group the helper started and still knows. */
static void kill_all(void)
{
	for (size_t i = 0; i < nchildren; i++)
		kill(-children[i].pid, SIGKILL);
}

/* die(what): reports a failed system call on stderr, stops every script (no one would read them) and exits 71. */
static void die(const char *what)
{
	fprintf(stderr, "ferry-spawn: %s: %s\n", what, strerror(errno));
	kill_all();
	exit(EXIT_SYSTEM);
}

/* bad_request(why): reports a malformed request (a bug in ferry), stops every script and exits 70. */
static void bad_request(const char *why)
{
	fprintf(stderr, "ferry-spawn: %s\n", why);
	kill_all();
	exit(EXIT_PROTOCOL);
}

/* grow(buf, cap, need): buf, reallocated if needed to hold need bytes; *cap is its size. */
static void *grow(void *buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return buf;
	size_t next = *cap ? *cap : 65536;
	while (next < need)
		next *= 2;
	void *bigger = realloc(buf, next);
	if (!bigger)
		die("realloc");
	*cap = next;
	return bigger;
}

/* put_u32(p, v): writes v little-endian at p. */
static void put_u32(char *p, uint32_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)((v >> 8) & 0xff);
	p[2] = (char)((v >> 16) & 0xff);
	p[3] = (char)((v >> 24) & 0xff);
}

/* get_u32(p): reads a little-endian u32 at p. */
static uint32_t get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

/* send_frame(type, token, a, alen, b, blen): queues a reply of a then b. */
static void send_frame(char type, uint32_t token, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t len = 5 + alen + blen;
	reply = grow(reply, &reply_cap, reply_len + 4 + len);
	char *p = reply + reply_len;
	put_u32(p, (uint32_t)len);
	p[4] = type;
	put_u32(p + 5, token);
	if (alen)
		memcpy(p + 9, a, alen);
	if (blen)
		memcpy(p + 9 + alen, b, blen);
	reply_len += 4 + len;
}

/* send_ints(type, token, n, v0, v1): queues a reply carrying n i32 values. */
static void send_ints(char type, uint32_t token, int n, int32_t v0, int32_t v1)
{
	char payload[8];
	put_u32(payload, (uint32_t)v0);
	put_u32(payload + 4, (uint32_t)v1);
	send_frame(type, token, payload, (size_t)n * 4, NULL, 0);
}

/* flush_replies(): writes every queued reply to stdout, blocking until done. */
static void flush_replies(void)
{
	size_t off = 0;
	while (off < reply_len) {
		ssize_t n = write(STDOUT_FILENO, reply + off, reply_len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ferry is gone: the EOF on stdin that follows ends the helper. */
			break;
		}
		off += (size_t)n;
	}
	reply_len = 0;
}

/* close_fd(fd): closes *fd if open and marks it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* finish_input(c): stops feeding c's stdin and frees what was left. */
static void finish_input(struct child *c)
{
	close_fd(&c->in);
	free(c->input);
	c->input = NULL;
}

/* forget_if_done(i): drops child i once it exited and both pipes closed; returns 1 if dropped. */
static int forget_if_done(size_t i)
{
	struct child *c = &children[i];
	if (!c->exited || c->out >= 0 || c->err >= 0)
		return 0;
	finish_input(c);
	children[i] = children[--nchildren];
	return 1;
}

/* find_token(token): index of the child with that token, or nchildren. */
static size_t find_token(uint32_t token)
{
	size_t i;
	for (i = 0; i < nchildren; i++)
		if (children[i].token == token)
			break;
	return i;
}

/* start(token, body, len): starts the script a request describes; replies P or F. */
static void start(uint32_t token, const char *body, size_t len)
{
	if (len < 12) {
		bad_request("start request too short");
	}
	uint32_t flags = get_u32(body);
	uint32_t argc = get_u32(body + 4);
	uint32_t envc = get_u32(body + 8);
	if (argc < 1 || argc > len || envc > len) {
		bad_request("bad start request");
	}
	char **argv = calloc((size_t)argc + 1, sizeof(char *));
	char **envp = calloc((size_t)envc + 1, sizeof(char *));
	if (!argv || !envp)
		die("calloc");
	const char *p = body + 12;
	const char *end = body + len;
	const char *cwd = NULL;
	for (uint32_t k = 0; k < argc + envc + 1; k++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul) {
			bad_request("unterminated string in start request");
		}
		if (k < argc)
			argv[k] = (char *)p;
		else if (k < argc + envc)
			envp[k - argc] = (char *)p;
		else
			cwd = p;
		p = nul + 1;
	}
	size_t input_len = (size_t)(end - p);

	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 };
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid = -1;
	int rc;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || ((flags & 1) && pipe2(in, O_CLOEXEC) < 0)) {
		rc = errno;
		goto failed;
	}
	posix_spawn_file_actions_init(&actions);
	if (flags & 1)
		posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
	else
		posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
	if (cwd && *cwd)
		posix_spawn_file_actions_addchdir_np(&actions, cwd);
	posix_spawnattr_init(&attr);
	/* Scripts get what Node gives them: a new session, no blocked signals, default handlers (SIGPIPE too). */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, argv[0], &actions, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		goto failed;
	close(out[1]);
	close(err[1]);
	if (flags & 1)
		close(in[0]);
	free(argv);
	free(envp);

	children = grow(children, &children_cap, (nchildren + 1) * sizeof(struct child));
	struct child *c = &children[nchildren++];
	memset(c, 0, sizeof(*c));
	c->token = token;
	c->pid = pid;
	c->out = out[0];
	c->err = err[0];
	c->in = -1;
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	fcntl(c->err, F_SETFL, O_NONBLOCK);
	if (flags & 1) {
		c->in = in[1];
		fcntl(c->in, F_SETFL, O_NONBLOCK);
		if (input_len) {
			c->input = malloc(input_len);
			if (!c->input)
				die("malloc");
			memcpy(c->input, p, input_len);
			c->input_len = input_len;
		} else {
			close_fd(&c->in);
		}
	}
	send_ints('P', token, 1, pid, 0);
	return;

failed:
	for (int k = 0; k < 2; k++) {
		close_fd(&out[k]);
		close_fd(&err[k]);
		close_fd(&in[k]);
	}
	free(argv);
	free(envp);
	send_ints('F', token, 1, rc, 0);
}

/* release(token): closes a child's output pipes and reports them closed. */
static void release(uint32_t token)
{
	size_t i = find_token(token);
	if (i == nchildren)
		return;
	struct child *c = &children[i];
	if (c->out >= 0) {
		close_fd(&c->out);
		send_frame('o', token, NULL, 0, NULL, 0);
	}
	if (c->err >= 0) {
		close_fd(&c->err);
		send_frame('e', token, NULL, 0, NULL, 0);
	}
	finish_input(c);
	forget_if_done(i);
}

/* handle_requests(buf, len): runs every whole request in buf; returns bytes used. */
static size_t handle_requests(const char *buf, size_t len)
{
	size_t off = 0;
	while (len - off >= 4) {
		uint32_t flen = get_u32(buf + off);
		if (flen < 5) {
			bad_request("request frame too short");
		}
		if (len - off - 4 < flen)
			break;
		const char *frame = buf + off + 4;
		uint32_t token = get_u32(frame + 1);
		if (frame[0] == 'S')
			start(token, frame + 5, flen - 5);
		else if (frame[0] == 'R')
			release(token);
		else
			bad_request("unknown request type");
		off += 4 + flen;
	}
	return off;
}

/* drain(fd, type, eof_type, token): forwards what fd has; closes it at EOF or error. */
static void drain(int *fd, char type, char eof_type, uint32_t token)
{
	static char chunk[READ_CHUNK];
	ssize_t n = read(*fd, chunk, sizeof(chunk));
	if (n > 0) {
		send_frame(type, token, chunk, (size_t)n, NULL, 0);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close_fd(fd);
	send_frame(eof_type, token, NULL, 0, NULL, 0);
}

/* feed(c): writes what the pipe takes of c's input; stops at the end or when the script closed it. */
static void feed(struct child *c)
{
	ssize_t n = write(c->in, c->input + c->input_off, c->input_len - c->input_off);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* EPIPE: the script exited without reading its input, which is its right. */
		finish_input(c);
		return;
	}
	c->input_off += (size_t)n;
	if (c->input_off == c->input_len)
		finish_input(c);
}

/* reap(): records every child that exited and replies X for each. */
static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < nchildren; i++) {
			if (children[i].pid != pid)
				continue;
			children[i].exited = 1;
			if (WIFSIGNALED(status))
				send_ints('X', children[i].token, 2, -1, WTERMSIG(status));
			else
				send_ints('X', children[i].token, 2, WEXITSTATUS(status), 0);
			forget_if_done(i);
			break;
		}
	}
}

int main(void)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0)
		die("sigprocmask");
	int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd");
	/* A script that closed its stdin early must not kill the helper. */
	signal(SIGPIPE, SIG_IGN);
	/* Ctrl-C, Ctrl-Backslash, a hang-up, or a SIGTERM to ferry's whole process group (timeout(1),
	 * kill -- -PGID) reach the helper too: ferry decides what happens to the scripts, then closes our stdin. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	/* The greeting: ferry falls back to Node's spawn if it never comes (a helper built for another machine). */
	send_ints('H', 0, 1, 1, 0);
	flush_replies();

	char *req = NULL;
	size_t req_len = 0, req_cap = 0;
	struct pollfd *fds = NULL;
	size_t fds_cap = 0;
	int open_stdin = 1;

	while (open_stdin) {
		size_t want = 2 + nchildren * 3;
		fds = grow(fds, &fds_cap, want * sizeof(struct pollfd));
		size_t n = 0;
		fds[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (size_t i = 0; i < nchildren; i++) {
			fds[n++] = (struct pollfd){ .fd = children[i].out, .events = POLLIN };
			fds[n++] = (struct pollfd){ .fd = children[i].err, .events = POLLIN };
			fds[n++] = (struct pollfd){ .fd = children[i].in, .events = POLLOUT };
		}
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		/* Output before exits, so a script's last bytes precede its X reply. */
		for (size_t i = 0; i < nchildren; i++) {
			struct pollfd *f = &fds[2 + i * 3];
			struct child *c = &children[i];
			if (c->out >= 0 && f[0].revents)
				drain(&c->out, 'O', 'o', c->token);
			if (c->err >= 0 && f[1].revents)
				drain(&c->err, 'E', 'e', c->token);
			if (c->in >= 0 && f[2].revents)
				feed(c);
		}
		for (size_t i = 0; i < nchildren;)
			if (!forget_if_done(i))
				i++;
		if (fds[1].revents) {
			struct signalfd_siginfo info;
			while (read(sfd, &info, sizeof(info)) > 0)
				;
			reap();
		}
		if (fds[0].revents) {
			req = grow(req, &req_cap, req_len + READ_CHUNK);
			ssize_t got = read(STDIN_FILENO, req + req_len, READ_CHUNK);
			if (got > 0) {
				req_len += (size_t)got;
				size_t used = handle_requests(req, req_len);
				memmove(req, req + used, req_len - used);
				req_len -= used;
			} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
				open_stdin = 0;
			}
		}
		flush_replies();
	}
	/* ferry is gone: nothing will read these scripts' output or stop them. */
	kill_all();
	return 0;
}
