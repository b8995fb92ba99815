#version 450
// A lit, textured mesh: world-space normal, colour and texture coordinates to the fragment
// stage.
layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec3 in_color;
layout(location = 3) in vec2 in_uv;
layout(location = 0) out vec3 v_normal;
layout(location = 1) out vec3 v_color;
layout(location = 2) out vec2 v_uv;
layout(push_constant) uniform Push { mat4 mvp; mat4 model; } pc;
void main() {
    gl_Position = pc.mvp * vec4(in_pos, 1.0);
    v_normal = mat3(pc.model) * in_normal;
    v_color = in_color;
    v_uv = in_uv;
}
