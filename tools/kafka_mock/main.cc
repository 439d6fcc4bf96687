// Standalone Kafka dev/test broker: librdkafka's mock cluster in its own process. It speaks the
// Kafka protocol (kcat -b <bootstrap> -L works); there is no persistence.
//
//   kafka_mock --brokers=1 --topics=dvc.accounts.v1:3,other:1 --control_port=19092
//
// Prints exactly one line on stdout once ready: KAFKA_BROKERS=<bootstrap>. Logs go to stderr.
// Flags may also come from the environment (BROKERS, TOPICS, CONTROL_PORT). SIGINT/SIGTERM
// stop it cleanly (exit 0). The control endpoint is described in control.h.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libs/config/config.h"
#include "libs/kafka/mock_cluster.h"
#include "tools/kafka_mock/control.h"

int main(int argc, char** argv) {
  // Block the stop signals in every thread (librdkafka's included); main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  dvc::config::Source src(argc, argv);
  const int brokers = src.Int("brokers", 1, "number of mock brokers", 1, 16);
  const std::string topics =
      src.String("topics", "", "topics to create, name:partitions[,name:partitions...]");
  const int control_port =
      src.Int("control_port", 0, "HTTP control port on 127.0.0.1 (0 = disabled)", 0, 65535);
  if (absl::Status s = src.Finish(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }

  auto cluster = dvc::kafka::MockCluster::Create(brokers);
  if (!cluster.ok()) {
    std::cerr << "kafka_mock: " << cluster.status() << "\n";
    return 1;
  }
  for (absl::string_view spec : absl::StrSplit(topics, ',', absl::SkipWhitespace())) {
    std::vector<std::string> parts = absl::StrSplit(spec, ':');
    int partitions = 1;
    if (parts.empty() || parts.size() > 2 || parts[0].empty() ||
        (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &partitions))) {
      std::cerr << "kafka_mock: bad topic spec \"" << spec << "\" (want name:partitions)\n";
      return 2;
    }
    if (absl::Status s = (*cluster)->CreateTopic(parts[0], partitions); !s.ok()) {
      std::cerr << "kafka_mock: topic " << parts[0] << ": " << s << "\n";
      return 1;
    }
  }
  std::unique_ptr<dvc::kafka_mock::ControlServer> control;
  if (control_port != 0) {
    auto c = dvc::kafka_mock::ControlServer::Start(cluster->get(), control_port);
    if (!c.ok()) {
      std::cerr << "kafka_mock: " << c.status() << "\n";
      return 1;
    }
    control = std::move(*c);
    std::cerr << "kafka_mock: control endpoint http://127.0.0.1:" << control->port() << "\n";
  }
  std::cerr << "kafka_mock: " << brokers << " broker(s) at " << (*cluster)->bootstrap() << "\n";
  std::printf("KAFKA_BROKERS=%s\n", (*cluster)->bootstrap().c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "kafka_mock: signal " << sig << ", stopping\n";
  control.reset();
  cluster->reset();
  return 0;
}
