#version 450
// Position from a vec2 attribute plus a push-constant offset; colour passed through.
layout(location = 0) in vec2 pos;
layout(location = 1) in vec3 color;
layout(location = 0) out vec3 v_color;
layout(push_constant) uniform Push { vec2 offset; } pc;
void main() {
    gl_Position = vec4(pos + pc.offset, 0.5, 1.0);
    v_color = color;
}
