#include "tools/kafka_mock/control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace dvc::kafka_mock {
namespace {

std::map<std::string, std::string> ParseQuery(absl::string_view q) {
  std::map<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(q, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    out[p.first] = p.second;
  }
  return out;
}

HttpResponse FromStatus(const absl::Status& s, std::string ok_body) {
  if (s.ok()) return {200, std::move(ok_body)};
  return {s.code() == absl::StatusCode::kInvalidArgument ? 400 : 500, std::string(s.message())};
}

const char* Reason(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    default: return "Internal Server Error";
  }
}

}  // namespace

HttpResponse HandleControl(kafka::MockCluster& cluster, absl::string_view method,
                           absl::string_view target) {
  absl::string_view path = target, query;
  if (size_t q = target.find('?'); q != absl::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  auto params = ParseQuery(query);
  auto want = [&](absl::string_view m) { return method == m; };
  if (path == "/health") {
    if (!want("GET")) return {405, "use GET"};
    return {200, absl::StrCat("ok brokers_up=", cluster.all_up() ? "true" : "false")};
  }
  if (path == "/bootstrap") {
    if (!want("GET")) return {405, "use GET"};
    return {200, cluster.bootstrap()};
  }
  if (path == "/brokers/down" || path == "/brokers/up") {
    if (!want("POST")) return {405, "use POST"};
    int id = -1;
    if (auto it = params.find("id"); it != params.end()) {
      if (!absl::SimpleAtoi(it->second, &id) || id < 1 || id > cluster.broker_count()) {
        return {400, "bad broker id"};
      }
    }
    bool down = path == "/brokers/down";
    absl::Status s = down ? cluster.SetBrokerDown(id) : cluster.SetBrokerUp(id);
    return FromStatus(s, down ? "down" : "up");
  }
  if (path == "/topics") {
    if (!want("POST")) return {405, "use POST"};
    int partitions = 1;
    auto it = params.find("partitions");
    if (it != params.end() && !absl::SimpleAtoi(it->second, &partitions)) {
      return {400, "bad partitions"};
    }
    return FromStatus(cluster.CreateTopic(params["name"], partitions), "created");
  }
  return {404, "not found"};
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(kafka::MockCluster* cluster,
                                                                    int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0) {
    std::string err = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("control port ", port, ": ", err));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<ControlServer> s(new ControlServer());
  s->cluster_ = cluster;
  s->listen_fd_ = fd;
  s->port_ = ntohs(addr.sin_port);
  ControlServer* raw = s.get();
  s->thread_ = std::thread([raw] { raw->Serve(); });
  return s;
}

ControlServer::~ControlServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void ControlServer::Serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HandleConnection(fd);
    close(fd);
  }
}

void ControlServer::HandleConnection(int fd) {
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  HttpResponse resp;
  std::vector<std::string> first = absl::StrSplit(req.substr(0, req.find("\r\n")), ' ');
  if (first.size() < 3) {
    resp = {400, "bad request"};
  } else {
    absl::MutexLock l(&mu_);
    resp = HandleControl(*cluster_, first[0], first[1]);
  }
  resp.body += "\n";
  std::string out = absl::StrCat("HTTP/1.1 ", resp.code, " ", Reason(resp.code),
                                 "\r\nContent-Type: text/plain\r\nContent-Length: ",
                                 resp.body.size(), "\r\nConnection: close\r\n\r\n", resp.body);
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace dvc::kafka_mock
