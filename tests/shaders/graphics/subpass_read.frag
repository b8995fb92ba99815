#version 450
// Reads the first subpass's colour at this pixel (input attachment 0) and writes it
// rearranged: (b, 1 - r, g, 1).
layout(input_attachment_index = 0, set = 0, binding = 0) uniform subpassInput scene;
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 frag_color;
void main() {
    vec4 c = subpassLoad(scene);
    frag_color = vec4(c.b, 1.0 - c.r, c.g, 1.0);
}
