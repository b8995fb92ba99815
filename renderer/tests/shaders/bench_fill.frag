#version 450
// The fragment shader of the full-screen fill-rate workloads: one colour, fixed when the
// pipeline is created (specialization constants 0..3: red, green, blue, alpha). A colour that
// is a constant at compile time is what lavapipe's reference figure (FACTS: ~4.5 Gpix/s
// blended) was measured with: llvmpipe then takes its 8-bit "linear" path. The same colour
// from push constants or from the vertices leaves that path and costs lavapipe 5-10x here.
layout(constant_id = 0) const float RED = 0.0;
layout(constant_id = 1) const float GREEN = 0.0;
layout(constant_id = 2) const float BLUE = 0.0;
layout(constant_id = 3) const float ALPHA = 1.0;

layout(location = 0) out vec4 frag_color;

void main() {
    frag_color = vec4(RED, GREEN, BLUE, ALPHA);
}
