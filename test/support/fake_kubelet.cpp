// fake_kubelet: serves a PodList at GET /pods over HTTPS like a kubelet, with switchable
// faults, for the daemon's integration tests. Built with the tests (build/test/fake_kubelet).
//
//   fake_kubelet --pods FILE --cert FILE --key FILE [--token-file FILE] [--control FILE]
//                [--port N] [--port-file FILE] [--plain]
//
//   --pods FILE        the PodList JSON served at /pods; read again on every request
//   --cert/--key FILE  the server certificate (chain) and key, PEM (not needed with --plain)
//   --token-file FILE  requests must carry `Authorization: Bearer <the file's content>`;
//                      read on every request, so a test can rotate it; unreadable = 401
//   --control FILE     fault switch, read on every request (missing or empty = "ok"):
//                        ok            serve the pods file
//                        <code>        that HTTP status (e.g. 500) with a Status body
//                        stall <s>     wait <s> seconds (fractions allowed), then serve
//                        truncate      a complete response whose JSON is cut in half
//                        cut           announce the whole body, send half, close
//                        huge [bytes]  a valid but huge PodList (default 50 MB), streamed
//   --port N           listen on 127.0.0.1:N (default 0: an ephemeral port)
//   --port-file FILE   write the port there once listening (atomically)
//   --plain            plain HTTP instead of HTTPS
//
// Prints `fake_kubelet listening on <url>` on stdout once it accepts connections, logs each
// request on stderr, and exits 0 on SIGTERM or SIGINT.

#include <cctype>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "test/support/fake_kube_server.hpp"
#include "test/support/test_certs.hpp"

namespace {

using kepler::test::fake_response;
using kepler::test::recorded_request;

struct kubelet_files {
  std::string pods;
  std::string token;
  std::string control;
};

std::string read_or_empty(const std::string& path) {
  if (path.empty()) return {};
  try {
    return kepler::test::whole_file(path);
  } catch (const std::exception&) {
    return {};
  }
}

std::string trimmed(std::string text) {
  const char* space = " \t\r\n";
  text.erase(text.find_last_not_of(space) + 1);
  text.erase(0, text.find_first_not_of(space));
  return text;
}

fake_response status_reply(unsigned code) {
  return fake_response::json(R"({"kind":"Status","apiVersion":"v1","status":"Failure","code":)" + std::to_string(code) +
                                 "}",
                             code);
}

/// The reply the control file asks for.
fake_response reply_for(const kubelet_files& files) {
  std::istringstream control(read_or_empty(files.control));
  std::string command;
  control >> command;
  if (command == "huge") {
    std::size_t bytes = 50'000'000;
    control >> bytes;
    return fake_response::huge(bytes, false);
  }
  std::string pods = read_or_empty(files.pods);
  if (command.empty() || command == "ok") return fake_response::json(pods);
  if (command == "stall") {
    double seconds = 10;
    control >> seconds;
    return fake_response::stalled(std::chrono::milliseconds(static_cast<long>(seconds * 1000)), pods);
  }
  if (command == "truncate") return fake_response::truncated_json(pods);
  if (command == "cut") return fake_response::cut_short(pods);
  if (std::isdigit(static_cast<unsigned char>(command[0]))) return status_reply(std::stoul(command));
  std::cerr << "fake_kubelet: unknown control command \"" << command << "\"; serving the pods\n";
  return fake_response::json(pods);
}

std::optional<fake_response> handle(const kubelet_files& files, const recorded_request& request) {
  std::optional<fake_response> reply;
  const std::string token = trimmed(read_or_empty(files.token));
  if (request.path != "/pods") {
    reply = status_reply(404);
  } else if (!files.token.empty() && (token.empty() || request.authorization != "Bearer " + token)) {
    reply = status_reply(401);
  } else {
    reply = reply_for(files);
  }
  std::cerr << "fake_kubelet: " << request.method << " " << request.path << " -> " << reply->status << "\n";
  return reply;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A fake kubelet serving /pods for tests"};
  kubelet_files files;
  kepler::test::fake_server_options options;
  std::string port_file;
  bool plain = false;
  app.add_option("--pods", files.pods, "PodList JSON served at /pods")->required();
  app.add_option("--cert", options.cert_file, "server certificate (PEM)");
  app.add_option("--key", options.key_file, "server key (PEM)");
  app.add_option("--token-file", files.token, "required bearer token, read on every request");
  app.add_option("--control", files.control, "fault switch file, read on every request");
  app.add_option("--port", options.port, "port on 127.0.0.1 (0 = ephemeral)");
  app.add_option("--port-file", port_file, "write the port here once listening");
  app.add_flag("--plain", plain, "plain HTTP instead of HTTPS");
  CLI11_PARSE(app, argc, argv);
  options.tls = !plain;
  if (options.tls && (options.cert_file.empty() || options.key_file.empty())) {
    std::cerr << "fake_kubelet: --cert and --key are required unless --plain\n";
    return 2;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: they inherit it

  try {
    kepler::test::fake_kube_server server(options);
    server.set_handler([files](const recorded_request& request) { return handle(files, request); });
    if (!port_file.empty()) kepler::test::write_text_file(port_file, std::to_string(server.port()) + "\n");
    std::cout << "fake_kubelet listening on " << server.url() << std::endl;
    int received = 0;
    sigwait(&signals, &received);
  } catch (const std::exception& e) {
    std::cerr << "fake_kubelet: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
