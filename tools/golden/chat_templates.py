"""Golden chat-template renderings from transformers' own Jinja renderer
(transformers.utils.chat_template_utils.render_jinja_template, what apply_chat_template
uses), for the chat formats genrt recognizes. The templates are those the model families
ship in tokenizer_config.json; genrt detects the family from the template text and
renders the format itself, and these goldens check that the two agree.

The tool-calling families (llama3.1, qwen2.5, mistral-v3) are also rendered with OpenAI-style
tools, assistant tool calls and tool results: a case's "tools" is the list passed as `tools`
(null when none).

Usage: python tools/golden/chat_templates.py   (needs transformers, jinja2)
"""

from transformers.utils.chat_template_utils import render_jinja_template

from common import DATA_DIR, write_json

# The tool-calling templates, byte for byte as the models ship them (tokenizer_config.json's
# "chat_template"). Where they were taken from (huggingface.co is out of reach here):
#  - Llama 3.1 (meta-llama/Llama-3.1-8B-Instruct; Llama-3.3-70B-Instruct ships the same text) and
#    Qwen2.5 (Qwen/Qwen2.5-7B-Instruct): llama.cpp's models/templates/*.jinja (written by its
#    scripts/get_chat_template.py from the Hub), identical to the chat_template in xinference's
#    model/llm/models/{llama-3.1-instruct,qwen2.5-instruct}.json.
#  - Mistral v0.3 (mistralai/Mistral-7B-Instruct-v0.3; the "v3" template Mistral-Large-Instruct-2407
#    also ships): llama.cpp's tests/test-chat-template.cpp, identical to xinference's
#    mistral-instruct-v0.3.json once its edits are undone (it writes '<s>'/'</s>' for bos_token/
#    eos_token and a raw newline for "\n\n"), and to a public copy printed from the tokenizer.
# sha256 of the UTF-8 text: llama3.1 e10ca381..., qwen2.5 cd8e9439..., mistral-v3 e16746b4...
LLAMA31_TEMPLATE = r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

QWEN25_TEMPLATE = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

MISTRAL_V3_TEMPLATE = r"""{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}
{%- set ns = namespace() %}
{%- set ns.index = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.role == "tool_results" or (message.tool_calls is defined and message.tool_calls is not none)) %}
        {%- if (message["role"] == "user") != (ns.index % 2 == 0) %}
            {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif %}
        {%- set ns.index = ns.index + 1 %}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- else %}
                    {{- "]" }}
                {%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
            {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message.tool_calls is defined and message.tool_calls is not none %}
        {{- "[TOOL_CALLS] [" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {%- if not loop.last %}
                {{- ", " }}
            {%- else %}
                {{- "]" + eos_token }}
            {%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool_results" or message["role"] == "tool" %}
        {%- if message.content is defined and message.content.content is defined %}
            {%- set content = message.content.content %}
        {%- else %}
            {%- set content = message.content %}
        {%- endif %}
        {{- '[TOOL_RESULTS] {"content": ' + content|string + ", " }}
        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}
            {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
        {%- endif %}
        {{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
"""

TEMPLATES = {
    "llama3": (
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
        "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
        "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
        "{{ content }}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
        "<|begin_of_text|>", "<|end_of_text|>"),
    "chatml": (
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
        "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
        "", "<|im_end|>"),
    "chatml_plain": (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
        "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
        "", "<|im_end|>"),
    "llama2": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
        "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
        "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if loop.index0 == 0 and system_message != false %}"
        "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
        "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
        "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
        "<s>", "</s>"),
    "mistral": (
        "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
        "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
        "<s>", "</s>"),
    "gemma": (
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
        "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
        "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
        "<bos>", "<eos>"),
    "llama3.1": (LLAMA31_TEMPLATE, "<|begin_of_text|>", "<|eot_id|>"),
    "qwen2.5": (QWEN25_TEMPLATE, "", "<|im_end|>"),
    "mistral-v3": (MISTRAL_V3_TEMPLATE, "<s>", "</s>"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "  What is 2+2? \n"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello, how can I help? "},
     {"role": "user", "content": "Tell me a story.\nMake it short."}],
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "One"},
     {"role": "assistant", "content": "Two"}, {"role": "user", "content": "Three"}],
]


# OpenAI tool objects. The second has nested object/array parameters, and a description with a
# double quote and a non-ASCII character (templates differ in whether they escape them).
TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"},
                                      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                       "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "plan_trip",
        "description": 'Plan a trip and return the "best" itinerary. Température in °C.',
        "parameters": {"type": "object",
                       "properties": {"stops": {"type": "array",
                                                "items": {"type": "object",
                                                          "properties": {"city": {"type": "string"},
                                                                         "nights": {"type": "integer", "minimum": 1}},
                                                          "required": ["city"]}},
                                      "budget": {"type": "object",
                                                 "properties": {"amount": {"type": "number"},
                                                                "currency": {"type": "string"}}}},
                       "required": ["stops"]}}},
]

# Tool calls in the OpenAI shape, with arguments as a dict (what apply_chat_template takes); ids are
# 9 alphanumeric characters, which Mistral's template requires.
WEATHER_CALL = {"id": "call12345", "type": "function",
                "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
WEATHER_CALL_2 = {"id": "call67890", "type": "function",
                  "function": {"name": "get_weather", "arguments": {"city": "Nice", "unit": "fahrenheit"}}}
TRIP_CALL = {"id": "trip98765", "type": "function",
             "function": {"name": "plan_trip",
                          "arguments": {"stops": [{"city": "Lyon", "nights": 2}, {"city": "Nice", "nights": 3}],
                                        "budget": {"amount": 1200.5, "currency": "EUR"}}}}

TOOL_CONVERSATIONS = [
    # a. user only, without and with a system message
    [{"role": "user", "content": "What's the weather in Paris?"}],
    [{"role": "system", "content": "You are a travel assistant."},
     {"role": "user", "content": "What's the weather in Paris?"}],
    # b. one call (content null) and its result (a string holding JSON)
    [{"role": "user", "content": "What's the weather in Paris?"},
     {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]},
     {"role": "tool", "tool_call_id": "call12345", "content": '{"temperature": 18, "condition": "sunny"}'}],
    # b. with a system message, one call (content ""), its result, the answer and another user turn
    [{"role": "system", "content": "You are a travel assistant."},
     {"role": "user", "content": "What's the weather in Paris?"},
     {"role": "assistant", "content": "", "tool_calls": [WEATHER_CALL]},
     {"role": "tool", "tool_call_id": "call12345", "content": '{"temperature": 18, "condition": "sunny"}'},
     {"role": "assistant", "content": "It is 18 °C and sunny in Paris."},
     {"role": "user", "content": "And in Nice?"}],
    # c. two parallel calls and their two results (Llama 3.1's template refuses more than one call)
    [{"role": "user", "content": "Weather in Paris and in Nice, please."},
     {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL, WEATHER_CALL_2]},
     {"role": "tool", "tool_call_id": "call12345", "content": "18 °C, sunny"},
     {"role": "tool", "tool_call_id": "call67890", "content": "64 °F, cloudy"}],
    # d. content text and a call (nested arguments) in one assistant message, then the result
    [{"role": "user", "content": "Plan Lyon for 2 nights, then Nice for 3, under 1200.5 EUR."},
     {"role": "assistant", "content": "Let me plan that.", "tool_calls": [TRIP_CALL]},
     {"role": "tool", "tool_call_id": "trip98765", "content": "Itinéraire prêt : Lyon → Nice"}],
]

TOOL_FAMILIES = ["llama3.1", "qwen2.5", "mistral-v3"]


def render(family, messages, tools, add_generation_prompt):
    template, bos, eos = TEMPLATES[family]
    try:
        rendered = render_jinja_template([messages], tools=tools, chat_template=template, bos_token=bos, eos_token=eos,
                                         add_generation_prompt=add_generation_prompt)[0][0]
        error = None
    except Exception as e:  # the template's raise_exception: genrt must refuse too
        rendered, error = None, str(e)
    return {"family": family, "messages": messages, "add_generation_prompt": add_generation_prompt,
            "rendered": rendered, "error": error, "tools": tools}


def main():
    cases = []
    for family in TEMPLATES:
        for messages in CONVERSATIONS:
            for add_generation_prompt in (True, False):
                cases.append(render(family, messages, None, add_generation_prompt))
    for family in TOOL_FAMILIES:
        for messages in TOOL_CONVERSATIONS:
            for add_generation_prompt in (True, False):
                cases.append(render(family, messages, TOOLS, add_generation_prompt))
    write_json(DATA_DIR / "chat_templates.json",
               {"source": "transformers render_jinja_template", "bos_eos": {f: [b, e] for f, (_, b, e) in TEMPLATES.items()},
                "templates": {f: t for f, (t, _, _) in TEMPLATES.items()}, "cases": cases})


if __name__ == "__main__":
    main()
