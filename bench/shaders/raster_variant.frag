#version 450
// graphics-pipeline-latency's fragment shader: blue comes from a specialization constant the
// benchmark changes every run, so no driver cache can hand back an earlier pipeline's code,
// and the read-back pixel proves this run's pipeline drew it.
layout(constant_id = 0) const float BLUE = 0.0;

layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 frag_color;

void main() {
    frag_color = vec4(v_color.rg, BLUE, v_color.a);
}
