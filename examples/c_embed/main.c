/* Embedding genrt from C: load a model, tokenize, stream a short generation.
 *
 *   cc main.c $(pkg-config --cflags --libs genrt) -o c_embed && ./c_embed MODEL [PROMPT]
 */
#include <genrt/genrt.h>
#include <stdio.h>
#include <string.h>

static int print_token(void* user_data, int32_t token, const char* text, size_t text_len) {
  int* count = (int*)user_data;
  (void)token;
  fwrite(text, 1, text_len, stdout);
  fflush(stdout);
  return ++*count >= 1000; /* nonzero stops the generation */
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL [PROMPT]\n", argv[0]);
    return 2;
  }
  const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
  printf("genrt %s\n", genrt_version());

  genrt_model* model = NULL;
  if (genrt_model_load(argv[1], NULL, &model) != GENRT_OK) {
    fprintf(stderr, "load failed: %s\n", genrt_last_error());
    return 1;
  }
  int32_t ids[256];
  size_t count = 0;
  if (genrt_tokenize(model, prompt, strlen(prompt), 1, ids, 256, &count) != GENRT_OK) {
    fprintf(stderr, "tokenize failed: %s\n", genrt_last_error());
    genrt_model_free(model);
    return 1;
  }
  printf("prompt: %zu tokens\n", count);

  genrt_sampling sampling;
  genrt_sampling_init(&sampling);
  sampling.max_tokens = 16;
  sampling.temperature = 0.0f;
  sampling.ignore_eos = 1;
  genrt_generation_result result;
  memset(&result, 0, sizeof(result));
  result.struct_size = sizeof(result);
  int streamed = 0;
  if (genrt_generate(model, prompt, &sampling, print_token, &streamed, &result) != GENRT_OK) {
    fprintf(stderr, "generate failed: %s\n", genrt_last_error());
    genrt_model_free(model);
    return 1;
  }
  printf("\ngenerated %lld tokens (finish reason %d), %.1f tokens/s\n", (long long)result.generated_tokens,
         (int)result.finish_reason, result.tokens_per_s);

  /* Misuse is an error, not a crash. */
  if (genrt_tokenize(NULL, "x", 1, 1, ids, 256, &count) != GENRT_ERROR_INVALID_ARGUMENT) return 1;
  if (genrt_model_free(model) != GENRT_OK) return 1;
  if (genrt_model_free(model) != GENRT_ERROR_INVALID_ARGUMENT) return 1; /* double free is caught */
  printf("ok: %s\n", genrt_last_error());
  return result.generated_tokens == 16 ? 0 : 1;
}
