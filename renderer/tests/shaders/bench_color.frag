#version 450
// The fragment shader of softgpu-vkbench's fill-rate and triangle workloads: the interpolated
// vertex colour (identical at a primitive's three vertices, so every fragment gets it exactly).
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 frag_color;

void main() {
    frag_color = v_color;
}
