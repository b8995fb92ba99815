#version 450
// Position (clip space before `mvp`) and colour per vertex; points are one pixel.
layout(location = 0) in vec4 in_pos;
layout(location = 1) in vec4 in_color;
layout(location = 0) out vec4 v_color;
layout(push_constant) uniform Push { mat4 mvp; } pc;
void main() {
    gl_Position = pc.mvp * in_pos;
    gl_PointSize = 1.0;
    v_color = in_color;
}
