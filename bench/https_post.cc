// HTTPS requests through libcurl, each slot keeping its connection alive:
// the floor's "B" (one POST at a time to nginx), and the Binance fake's own
// ceiling (many at once). With --gateway_transport, one POST at a time
// through the gateway's own CurlMultiTransport instead (its thread, a new
// easy handle a request, its pool): B′, what the gateway's HTTP side adds to
// B with nothing else running. Prints one line of JSON.
//   https_post --url https://127.0.0.1:8443/path --ca ca.pem [--data BODY]
//              [--calls N] [--concurrency C] [--gateway_transport]
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "http/curl_multi_transport.h"

namespace {

using Clock = std::chrono::steady_clock;

size_t Discard(char*, size_t size, size_t items, void*) { return size * items; }

struct Slot {
  CURL* easy = nullptr;
  Clock::time_point started;
};

}  // namespace

// One request at a time through the gateway's transport: Send → done.
int RunGatewayTransport(const std::string& url, const std::string& ca,
                        const std::string& data, int calls) {
  loan_gateway::CurlMultiTransport transport({.ca_file = ca});
  std::vector<double> ms;
  int failed = 0;
  const Clock::time_point started = Clock::now();
  for (int i = 0; i < calls; ++i) {
    loan_gateway::HttpRequest request;
    request.method = loan_gateway::HttpRequest::Method::kPost;
    request.url = url;
    request.headers = {"X-MBX-APIKEY: bench-api-key"};
    request.body = data;
    absl::Notification done;
    const Clock::time_point sent = Clock::now();
    transport.Send(
        std::move(request), [&](const loan_gateway::HttpResult& result) {
          if (result.status != 200) ++failed;
          ms.push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - sent)
                  .count());
          done.Notify();
        });
    done.WaitForNotification();
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - started).count();
  std::sort(ms.begin(), ms.end());
  std::printf(
      "{\"calls\":%d,\"concurrency\":1,\"failed\":%d,\"throughput\":%.1f,"
      "\"p50_ms\":%.4f,\"p99_ms\":%.4f}\n",
      calls, failed, calls / seconds, ms[ms.size() / 2],
      ms[ms.size() * 99 / 100]);
  return failed == 0 ? 0 : 1;
}

int Run(int argc, char** argv) {
  CLI::App app{"https_post: keep-alive HTTPS requests through libcurl"};
  std::string url, ca, data;
  int calls = 1000, concurrency = 1;
  app.add_option("--url", url)->required();
  app.add_option("--ca", ca, "the server's CA (PEM)");
  app.add_option("--data", data, "a form body: POST it (else GET)");
  app.add_option("--calls", calls);
  app.add_option("--concurrency", concurrency);
  bool gateway_transport = false;
  app.add_flag("--gateway_transport", gateway_transport,
               "one POST at a time through the gateway's CurlMultiTransport");
  CLI11_PARSE(app, argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (gateway_transport) return RunGatewayTransport(url, ca, data, calls);
  CURLM* multi = curl_multi_init();
  curl_slist* headers = curl_slist_append(
      nullptr, "Content-Type: application/x-www-form-urlencoded");
  headers = curl_slist_append(headers, "X-MBX-APIKEY: bench-api-key");
  std::vector<Slot> slots(static_cast<size_t>(concurrency));
  int issued = 0, finished = 0, failed = 0;
  std::vector<double> ms;
  const Clock::time_point started = Clock::now();
  auto issue = [&](Slot& slot) {
    ++issued;
    slot.started = Clock::now();
    curl_multi_add_handle(multi, slot.easy);
  };
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, headers);
    if (!ca.empty()) curl_easy_setopt(slot.easy, CURLOPT_CAINFO, ca.c_str());
    if (!data.empty()) {
      curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, data.c_str());
    }
    if (issued < calls) issue(slot);
  }
  while (finished < calls) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK || status != 200) ++failed;
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() -
                                                             slot->started)
                       .count());
      ++finished;
      curl_multi_remove_handle(multi, slot->easy);
      if (issued < calls) issue(*slot);  // Same handle: same connection.
    }
    if (finished < calls) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - started).count();
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[static_cast<size_t>(p * (ms.size() - 1))];
  };
  std::printf(
      "{\"calls\":%d,\"concurrency\":%d,\"failed\":%d,\"throughput\":%.1f,"
      "\"p50_ms\":%.4f,\"p99_ms\":%.4f}\n",
      calls, concurrency, failed, calls / seconds, pct(0.5), pct(0.99));
  for (Slot& slot : slots) curl_easy_cleanup(slot.easy);
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  return failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "https_post: %s\n", e.what());
    return 1;
  }
}
