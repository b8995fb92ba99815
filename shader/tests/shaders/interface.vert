#version 450
#extension GL_ARB_shader_draw_parameters : require
layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec2 in_uv;
layout(location = 2, component = 2) in float in_w;
layout(location = 0) out vec4 v_color;
layout(location = 1) flat out int v_id;
layout(location = 2, component = 1) noperspective out vec2 v_np;
layout(set = 0, binding = 0) uniform Ubo { mat4 mvp; } ubo;
layout(push_constant) uniform Pc { float scale; } pc;
void main() {
    gl_Position = ubo.mvp * vec4(in_pos * pc.scale, in_w);
    gl_PointSize = 2.0;
    v_color = vec4(in_uv, float(gl_VertexIndex), float(gl_InstanceIndex));
    v_id = gl_VertexIndex + gl_BaseInstanceARB;
    v_np = in_uv;
}
