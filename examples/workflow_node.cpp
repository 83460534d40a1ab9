// A workflow node that calls the "inference-cluster" server group, like the seed's
// InferenceWorkflowNodeExecutor: inputs Prompt and MaxTokens, outputs GeneratedText and
// TokensUsed. The blocking call runs on this thread; Ctrl-C cancels it through a stop token.
//
//   export SGD_PROXY_URLS=http://127.0.0.1:8080,http://127.0.0.1:8081
//   example_workflow_node "Summarize the following..." 512
#include <sgd/client/server_group_client.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stop_token>
#include <string>
#include <vector>

namespace {

std::stop_source g_stop;  // cancelled by SIGINT (a workflow's CancellationToken)

std::vector<std::string> proxy_urls() {
  const char* env = std::getenv("SGD_PROXY_URLS");
  std::string list = env && *env ? env : "http://127.0.0.1:8080";
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string u; std::getline(ss, u, ',');)
    if (!u.empty()) out.push_back(u);
  return out;
}

struct inference_response {
  std::string text;
  long long tokens_used = 0;
};

sg::client::result<inference_response> infer(sg::client::ServerGroupClient& group_client,
                                             const std::string& prompt, int max_tokens) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("prompt");
  w.String(prompt);
  w.Key("maxTokens");
  w.Int(max_tokens);
  w.EndObject();

  sg::client::call_options opts;
  opts.timeout = std::chrono::minutes(5);  // LLM calls take a while
  opts.stop = g_stop.get_token();
  auto r = group_client.post("inference-cluster", "/infer", sb.GetString(), opts);
  if (!r) return r.error();
  const auto& d = r.value();
  if (!d.IsObject() || !d.HasMember("text") || !d["text"].IsString()) {
    sg::client::call_error e;
    e.kind = sg::client::errc::bad_response;
    e.message = "the answer has no string 'text': " + sg::client::to_json(d);
    return e;
  }
  inference_response out;
  out.text = d["text"].GetString();
  if (d.HasMember("tokensUsed") && d["tokensUsed"].IsInt64())
    out.tokens_used = d["tokensUsed"].GetInt64();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_workflow_node PROMPT [MAX_TOKENS]   (env SGD_PROXY_URLS)\n";
    return 2;
  }
  std::string prompt = argv[1];
  int max_tokens = argc > 2 ? std::atoi(argv[2]) : 512;
  std::signal(SIGINT, [](int) { g_stop.request_stop(); });

  sg::client::ServerGroupClient client(proxy_urls());
  auto r = infer(client, prompt, max_tokens);
  if (!r) {
    std::cerr << "workflow node failed: " << r.error().what() << '\n';
    return 1;
  }
  std::cout << "GeneratedText: " << r->text << "\nTokensUsed: " << r->tokens_used << '\n';
  return 0;
}
