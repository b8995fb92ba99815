#version 450
// A copy of bench/shaders/raster.vert (softgpu-vkbench's graphics workloads): positions in pixels (top-left
// origin), mapped to clip space with the push-constant scale; the colour passes through.
layout(location = 0) in vec2 pos;
layout(location = 1) in vec4 color; // R8G8B8A8_UNORM in the vertex buffer

layout(location = 0) out vec4 v_color;

layout(push_constant) uniform Target {
    vec2 pixels_to_ndc; // (2 / width, 2 / height)
} target;

void main() {
    v_color = color;
    gl_Position = vec4(pos * target.pixels_to_ndc - 1.0, 0.0, 1.0);
}
