// The server uprobe-latency times: a TCP server on 127.0.0.1 whose
// handle_request() takes about as many microseconds as the request line asks
// for. handle_request is a global, non-inlined function, so it has a symbol
// the uprobe can name (as Beyla names a Go server's handler functions).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) int handle_request(long micros) {
  struct timespec t = {.tv_sec = micros / 1000000, .tv_nsec = (micros % 1000000) * 1000};
  nanosleep(&t, NULL);
  return (int)(micros & 0x7fffffff);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) || listen(s, 64)) {
    perror("latency_server");
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(s, (struct sockaddr *)&addr, &len);
  printf("%d\n", ntohs(addr.sin_port));  // the port, for the example
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char line[64] = {0};
    ssize_t n = read(c, line, sizeof(line) - 1);
    if (n > 0) {
      int r = handle_request(atol(line));
      char out[32];
      int m = snprintf(out, sizeof(out), "%d\n", r);
      if (write(c, out, m) < 0) perror("write");
    }
    close(c);
  }
}
