#include "libs/http/raw_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dvc::http::testing {

RawTestServer::RawTestServer(Behaviour behaviour) : behaviour_(std::move(behaviour)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("RawTestServer");
    std::abort();
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

RawTestServer::~RawTestServer() {
  stop_ = true;
  cv_.notify_all();
  acceptor_.join();
  close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

std::string RawTestServer::Url(absl::string_view path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

std::string RawTestServer::last_request() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_request_;
}

bool RawTestServer::Sleep(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return stop_.load(); });
}

void RawTestServer::Write(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string RawTestServer::Response(int status, absl::string_view body,
                                    absl::string_view extra_headers) {
  return absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: ", body.size(),
                      "\r\nConnection: close\r\n", extra_headers, "\r\n", body);
}

void RawTestServer::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_++;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void RawTestServer::Serve(int fd) {
  std::string req;
  char buf[4096];
  size_t need = std::string::npos;
  while (need == std::string::npos || req.size() < need) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
    size_t head_end = req.find("\r\n\r\n");
    if (need == std::string::npos && head_end != std::string::npos) {
      std::string lower = absl::AsciiStrToLower(req.substr(0, head_end));
      size_t cl = lower.find("content-length:");
      need = head_end + 4 + (cl == std::string::npos ? 0 : std::atoi(lower.c_str() + cl + 15));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_request_ = req;
  }
  behaviour_(*this, req, fd);
  close(fd);
}

}  // namespace dvc::http::testing
