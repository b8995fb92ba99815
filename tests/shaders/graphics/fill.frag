#version 450
// Writes a push-constant value of the attachment's numeric kind: KIND 0 float, 1 uint, 2 int.
layout(location = 0) in vec4 v_color;
layout(push_constant) uniform Push {
    mat4 mvp;
    vec4 f;
    uvec4 u;
    ivec4 i;
} pc;
#if KIND == 0
layout(location = 0) out vec4 out_value;
void main() { out_value = pc.f; }
#elif KIND == 1
layout(location = 0) out uvec4 out_value;
void main() { out_value = pc.u; }
#else
layout(location = 0) out ivec4 out_value;
void main() { out_value = pc.i; }
#endif
