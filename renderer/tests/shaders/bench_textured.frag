#version 450
// A copy of bench/shaders/textured.frag. The fragment shader of the textured fill-rate workloads: the texture sampled at the pixel's
// position scaled to [0, 1] over the target (specialization constants 0 and 1: 1 / width and
// 1 / height), so a full-screen quad shows the whole texture once. The filter (bilinear or
// trilinear) is the sampler's.
layout(constant_id = 0) const float INV_WIDTH = 1.0;
layout(constant_id = 1) const float INV_HEIGHT = 1.0;

layout(set = 0, binding = 0) uniform sampler2D tex;

layout(location = 0) out vec4 frag_color;

void main() {
    frag_color = texture(tex, gl_FragCoord.xy * vec2(INV_WIDTH, INV_HEIGHT));
}
