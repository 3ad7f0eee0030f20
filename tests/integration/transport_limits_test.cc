// What any peer that can reach a port may cost the gateway: descriptors
// (issue 9 §4) and memory per HTTP/2 connection (§5). The gateway runs with a
// tight open-file limit; the test holds more connections than that limit on
// each port, releases them, and borrows.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gateway_env.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

// A sample of the gateway's own gauge (its /proc/PID/fd is closed to us:
// the gateway is not dumpable).
int64_t MetricValue(const std::string& metrics, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (absl::ConsumePrefix(&line, name + " ")) {
      int64_t v = -1;
      if (absl::SimpleAtoi(line, &v)) return v;
    }
  }
  return -1;
}

int64_t RssKbOf(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      std::vector<std::string> parts =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t kb = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb;
    }
  }
  return -1;
}

int PortOf(const std::string& host_port) {
  int port = 0;
  EXPECT_TRUE(
      absl::SimpleAtoi(host_port.substr(host_port.rfind(':') + 1), &port));
  return port;
}

// Opens `n` TCP connections to 127.0.0.1:port and keeps them (idle).
std::vector<int> HoldConnections(int port, int n) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fds.push_back(fd);
  }
  return fds;
}

void Release(std::vector<int>& fds) {
  for (int fd : fds) close(fd);
  fds.clear();
}

// Borrows on a fresh channel until one succeeds or `within` passes.
absl::Duration TimeUntilABorrowSucceeds(GatewayEnv& env,
                                        const std::string& request_id,
                                        absl::Duration within) {
  const absl::Time start = absl::Now();
  while (absl::Now() - start < within) {
    env.RestartChannel();
    BorrowRequest request = MakeBorrow(1001, "10");
    request.set_request_id(request_id);
    BorrowResponse response;
    if (env.Borrow(request, &response, std::chrono::milliseconds(300)).ok()) {
      return absl::Now() - start;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::InfiniteDuration();
}

TEST(TransportLimitsTest, ExhaustingEitherPortLeavesTheGatewayServing) {
  GatewayEnv env({.gateway_args = {"--max_grpc_connections=300",
                                   "--max_metrics_connections=16"},
                  .open_file_limit = "512:1024"});
  // The soft limit was raised to the hard one, and said so.
  EXPECT_TRUE(absl::StrContains(
      env.GatewayLog(),
      R"("event":"open_file_limit","soft_before":512,"soft":1024,"hard":1024)"))
      << env.GatewayLog();
  const int grpc_port = PortOf(env.target());
  const int metrics_port = PortOf(env.metrics_url().substr(
      0, env.metrics_url().size() - std::string("/metrics").size()));

  // More connections than the gateway has descriptors, to the gRPC port...
  std::vector<int> held = HoldConnections(grpc_port, 1100);
  absl::SleepFor(absl::Milliseconds(800));
  const int64_t open_files =
      MetricValue(env.ScrapeMetrics(), "loan_gateway_open_files");
  EXPECT_GT(open_files, 300);
  EXPECT_LT(open_files, 1024 - 100);
  std::printf(
      "1,100 connections held on the gRPC port: the gateway holds %lld "
      "descriptors of 1,024\n",
      static_cast<long long>(open_files));
  // ...then to the metrics port as well.
  std::vector<int> held_metrics = HoldConnections(metrics_port, 1100);
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_EQ(kill(env.gateway_pid(), 0), 0) << "the gateway died";

  Release(held);
  Release(held_metrics);
  const absl::Duration took = TimeUntilABorrowSucceeds(
      env, "5f0c3a8e-0000-4000-8000-000000000901", absl::Seconds(1));
  EXPECT_LE(took, absl::Seconds(1)) << "no borrow within a second of release";
  std::printf(
      "borrow succeeded %s after 2,200 held connections were released\n",
      absl::FormatDuration(took).c_str());

  const std::string metrics = env.ScrapeMetrics();
  EXPECT_TRUE(absl::StrContains(metrics, "\nloan_gateway_journal_intact 1\n"));
  EXPECT_GT(MetricValue(metrics, "loan_gateway_grpc_connections_refused_total"),
            0);
  EXPECT_EQ(MetricValue(metrics, "loan_gateway_grpc_accept_failures_total"), 0)
      << "the caps kept every accept() below the descriptor limit";
  const FakeState state = env.State();
  EXPECT_EQ(state.received_borrow, 1) << "a borrow was signed twice";
  EXPECT_EQ(state.borrows.size(), 1u);
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "connection_refused"));
}

// One HTTP/2 frame: 9-byte header, then the payload.
std::string Frame(uint8_t type, uint8_t flags, uint32_t stream,
                  const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(payload.size() >> 16));
  f.push_back(static_cast<char>(payload.size() >> 8));
  f.push_back(static_cast<char>(payload.size()));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  f.push_back(static_cast<char>((stream >> 24) & 0x7f));  // R bit clear.
  for (int shift : {16, 8, 0}) f.push_back(static_cast<char>(stream >> shift));
  return f + payload;
}

// HPACK "literal header field without indexing, new name", no Huffman.
std::string Header(const std::string& name, const std::string& value) {
  return std::string(1, '\0') + static_cast<char>(name.size()) + name +
         static_cast<char>(value.size()) + value;
}

// Opens `streams` gRPC calls on one connection and never finishes any (no
// data, no END_STREAM), the way the reported abuse did, while acknowledging
// the server's SETTINGS as a real client would. Returns the bytes read back.
size_t FloodHalfOpenStreams(int port, int streams) {
  std::vector<int> fds = HoldConnections(port, 1);
  const int fd = fds[0];
  pollfd pfd{.fd = fd, .events = POLLOUT, .revents = 0};
  poll(&pfd, 1, 1000);
  const std::string block =
      Header(":method", "POST") + Header(":scheme", "http") +
      Header(":path", "/institutional_loan.v1.InstitutionalLoan/Borrow") +
      Header(":authority", "127.0.0.1") +
      Header("content-type", "application/grpc") + Header("te", "trailers");
  std::string out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + Frame(4, 0, 0, "") +
                    Frame(4, 1, 0, "");
  for (int i = 0; i < streams; ++i) {
    out += Frame(1, 0x4, static_cast<uint32_t>(2 * i + 1), block);
  }
  size_t sent = 0, received = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  char buffer[65536];
  while (absl::Now() < give_up) {
    pfd.events = POLLIN | (sent < out.size() ? POLLOUT : 0);
    if (poll(&pfd, 1, 200) <= 0) {
      if (sent == out.size()) break;
      continue;
    }
    if (pfd.revents & POLLIN) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;  // The server ended the connection.
      received += static_cast<size_t>(n);
    }
    if ((pfd.revents & POLLOUT) && sent < out.size()) {
      const ssize_t n =
          send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) break;  // The server ended it.
      if (n > 0) sent += static_cast<size_t>(n);
    }
  }
  close(fd);
  return received;
}

bool BorrowsMeanwhile(GatewayEnv& env) {
  BorrowResponse response;
  return env.Borrow(MakeBorrow(1001, "1"), &response, std::chrono::seconds(5))
      .ok();
}

TEST(TransportLimitsTest, HalfOpenStreamsOnOneConnectionDoNotGrowTheGateway) {
  GatewayEnv env;
  const int64_t rss_before = RssKbOf(env.gateway_pid());
  int64_t rss_peak = rss_before;
  std::thread watch([&] {
    for (int i = 0; i < 60; ++i) {
      rss_peak = std::max(rss_peak, RssKbOf(env.gateway_pid()));
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  bool served_meanwhile = false;
  std::thread other([&] {
    absl::SleepFor(absl::Milliseconds(500));
    served_meanwhile = BorrowsMeanwhile(env);
  });
  const size_t answered = FloodHalfOpenStreams(PortOf(env.target()), 30000);
  watch.join();
  other.join();
  EXPECT_TRUE(served_meanwhile) << "another caller was served during the flood";
  std::printf(
      "30,000 half-open streams: gateway RSS %lld kB -> peak %lld kB; %zu "
      "bytes answered\n",
      static_cast<long long>(rss_before), static_cast<long long>(rss_peak),
      answered);
  EXPECT_LT(rss_peak - rss_before, 64 * 1024);
  env.RestartChannel();
  BorrowResponse response;
  EXPECT_TRUE(
      env.Borrow(MakeBorrow(1001, "10"), &response, std::chrono::seconds(5))
          .ok());
}

// Reads the server's HTTP/2 frames on `fd` until a GOAWAY arrives, the
// connection closes or `timeout` passes. Returns the GOAWAY's error code, -1
// when the connection closed without one, -2 on timeout.
int AwaitGoaway(int fd, absl::Duration timeout,
                const std::function<void()>& between = nullptr) {
  std::string in;
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (between) between();
    pollfd pfd{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&pfd, 1, 20) <= 0) continue;
    char buffer[16384];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return -1;
    in.append(buffer, static_cast<size_t>(n));
    while (in.size() >= 9) {
      const size_t length = (static_cast<uint8_t>(in[0]) << 16) |
                            (static_cast<uint8_t>(in[1]) << 8) |
                            static_cast<uint8_t>(in[2]);
      if (in.size() < 9 + length) break;
      if (in[3] == 7 && length >= 8) {  // GOAWAY: last stream, error code.
        return (static_cast<uint8_t>(in[13]) << 24) |
               (static_cast<uint8_t>(in[14]) << 16) |
               (static_cast<uint8_t>(in[15]) << 8) |
               static_cast<uint8_t>(in[16]);
      }
      in.erase(0, 9 + length);
    }
  }
  return -2;
}

int OpenHttp2(int port) {
  const int fd = HoldConnections(port, 1)[0];
  pollfd pfd{.fd = fd, .events = POLLOUT, .revents = 0};
  poll(&pfd, 1, 1000);
  const std::string hello = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
                            Frame(4, 0, 0, "") + Frame(4, 1, 0, "");
  send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
  return fd;
}

TEST(TransportLimitsTest, AnOversizedRequestIsRefusedAndOthersAreServed) {
  GatewayEnv env({.gateway_args = {"--grpc_max_message_bytes=4096"}});
  BorrowRequest big = MakeBorrow(1001, "1");
  big.set_request_id(std::string(8192, 'a'));
  BorrowResponse response;
  EXPECT_EQ(env.Borrow(big, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(BorrowsMeanwhile(env));
  EXPECT_EQ(env.State().received_borrow, 1) << "the big one never left";
}

TEST(TransportLimitsTest, SilentConnectionsAreClosedAfterTheHandshakeTimeout) {
  GatewayEnv env({.gateway_args = {"--grpc_handshake_timeout=1s"}});
  std::vector<int> silent = HoldConnections(PortOf(env.target()), 50);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(BorrowsMeanwhile(env));
  int closed = 0;
  for (int fd : silent) {
    if (AwaitGoaway(fd, absl::Seconds(4) - (absl::Now() - start)) != -2)
      ++closed;
  }
  std::printf("%d of 50 silent connections closed within %s\n", closed,
              absl::FormatDuration(absl::Now() - start).c_str());
  EXPECT_EQ(closed, 50);
  Release(silent);
}

TEST(TransportLimitsTest, AConnectionWithoutCallsIsSentAwayAfterMaxIdle) {
  // Raw HTTP/2 frames: plaintext (TLS is orthogonal to these limits).
  GatewayEnv env({.gateway_args = {"--grpc_max_connection_idle=1s"},
                  .insecure_plaintext = true});
  const int fd = OpenHttp2(PortOf(env.target()));
  EXPECT_TRUE(BorrowsMeanwhile(env));
  const absl::Time opened = absl::Now();
  EXPECT_GE(AwaitGoaway(fd, absl::Seconds(5)), 0) << "no GOAWAY";
  const absl::Duration after = absl::Now() - opened;
  EXPECT_GE(after, absl::Milliseconds(800)) << "sent away before idling";
  std::printf("idle connection sent away after %s\n",
              absl::FormatDuration(after).c_str());
  close(fd);
}

TEST(TransportLimitsTest, AClientPingingTooOftenIsCutOff) {
  GatewayEnv env({.insecure_plaintext = true});  // Raw HTTP/2 frames.
  const int fd = OpenHttp2(PortOf(env.target()));
  uint64_t n = 0;
  const int code = AwaitGoaway(fd, absl::Seconds(5), [&] {
    const std::string ping =
        Frame(6, 0, 0, std::string(8, static_cast<char>(++n)));
    send(fd, ping.data(), ping.size(), MSG_NOSIGNAL);
  });
  EXPECT_EQ(code, 0xb) << "GOAWAY ENHANCE_YOUR_CALM (too_many_pings)";
  close(fd);
  EXPECT_TRUE(BorrowsMeanwhile(env));
}

TEST(TransportLimitsTest, CapsAboveTheDescriptorLimitFailTheStart) {
  GatewayEnv env;
  CommandResult start = RunCommand(
      {"/usr/bin/prlimit", "--nofile=1024:1024", GATEWAY_BINARY,
       "--listen=127.0.0.1:0", "--insecure_plaintext",
       "--metrics_listen=", "--upstream_base_urls=https://127.0.0.1:1",
       "--api_key_file=" + env.dir() + "/api_key",
       "--private_key_file=" + env.dir() + "/private_key",
       "--journal_path=" + env.dir() + "/journal.db",
       "--max_grpc_connections=2000"});
  EXPECT_EQ(start.exit_code, 2) << start.out << start.err;
  EXPECT_TRUE(absl::StrContains(start.out, "exceeds the open-file limit"))
      << start.out;
}

}  // namespace
}  // namespace loan_gateway::testing
