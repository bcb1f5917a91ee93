const D=440,j=[440],F={3104:((N,T,g)=>{g.d(T,{t:()=>y});var f=g(9114),w=g(1661),r=g(7521);function c(v){return r.xf.find(_=>_.name===v)?.default??""}function y(v,_={}){return{privateKey:v("ssh-private-key"),knownHosts:v("ssh-known-hosts"),acceptNewHostKeys:(0,f.q6)("ssh-accept-new-host-keys",v("ssh-accept-new-host-keys"),c("ssh-accept-new-host-keys")==="true"),extraOptions:(0,w.K_)(v("ssh-options")),sudo:(0,f.nL)("sudo",v("sudo"),["auto","true","false"],c("sudo")),connectTimeout:(0,f.EJ)("ssh-connect-timeout",v("ssh-connect-timeout"),Number(c("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:_.terminal===!0}}}),9145:((N,T,g)=>{g.d(T,{$W:()=>M,jJ:()=>I,o9:()=>U});var f=g(9114);const w=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],r=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,c=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],y=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],v="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",_=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${v})$`);function U(m){return m.length<=256&&_.test(m)}function I(m){const u={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},A=new Set;let L=!1;const O=[],S=(0,f.aJ)(String(m??"")).split(/\r?\n|\r/);for(let t=0;t<S.length;t++){const n=S[t].trim();if(n===""||c.some(i=>i.test(n)))continue;if(y.some(i=>i.test(n))){L=!0;continue}const $=r.exec(n);if($){A.add($[1]);continue}const a=w.find(([i])=>i.test(n));if(!a){O.push(n);continue}const[l,h]=a;let o=n.replace(l,"");for(;o.trim().endsWith(",")&&t+1<S.length&&S[t+1].trim()!=="";)t++,o+=" "+S[t].trim();let s=!1;for(const i of o.split(",")){const e=i.trim();e!==""&&(U(e)?u[h].add(e):s=!0)}s&&O.push(n)}const x=t=>[...t].sort();return{stop:x(u.stop),restart:x(u.restart),reload:x(u.reload),start:x(u.start),notStopped:x(u.notStopped),skipped:x(u.skipped),newlyStarted:x(u.newlyStarted),failed:x(u.failed),failedUserUnits:x(u.failedUserUnits),failedUsers:x(A),restartSystemd:L,lines:O}}function M(m){const u=[];return m.failed.length&&u.push(`units failed: ${m.failed.join(", ")}`),m.failedUserUnits.length&&u.push(`user units failed: ${m.failedUserUnits.join(", ")}`),m.failedUsers.length&&u.push(`user activation failed for ${m.failedUsers.join(", ")}`),u.length?u.join("; "):"units failed: see the log"}}),6045:((N,T,g)=>{g.d(T,{G:()=>h});var f=g(4296),w=g(9978),r=g(1661);const c="/run/nix-deploy",y="/nix/var/nix/profiles/system",v=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,_=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${y} 2>/dev/null || true)
  prof=$(readlink -f ${y} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act"
}
`,U=_+`
probe_state "$1"
`,I=_+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,M=v+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "$4" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,m=`
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s
' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,u=v+`
d=$1; id=$2; top=$3; act=$4
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${y} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${y} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s
' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" -- /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  setsid /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+A();function A(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const L=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+A(),O=`
d=$1; id=$2; n=0
while read -r beat; do
  [ -e "$d/rollback-$id.log" ] && { echo nix-deploy-fired; exit 92; }
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  echo $(( now + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
  n=$((n+1)); echo "$n $now" > "$d/beats-$id"
  echo "nix-deploy-beat $beat"
done
`,S=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,x=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,t=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,n=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,$=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,a=6e4;function l(o){const s=/system-(\d+)-link$/.exec(o.trim());return s?Number(s[1]):null}class h{session;remote;logger;constructor(s,i,e){this.session=s,this.remote=i,this.logger=e}get host(){return this.remote.host}script(s,i,e,d,p=a,k=!0){return(0,r.mW)(this.session,this.remote,s,i,{timeoutMs:p,phase:e,what:d,logger:this.logger,check:k})}async connect(s,i){const e=(this.session.settings.connectTimeout+30)*1e3,d=await this.session.connect(this.remote,{timeoutMs:e,logger:this.logger});if(d)throw(0,r.vU)(this.remote,d,{phase:s,what:i,timeoutMs:e})}async probe(s,i="probe"){const e=await this.script(U,[s],i,"reading the current system");return this.parseProbe(e.stdout.split(`
`),i)}parseProbe(s,i){const e=new Map;for(const d of s){const p=d.indexOf("=");p>0&&e.set(d.slice(0,p),d.slice(p+1).trim())}if(!e.has("current"))throw(0,f.FT)({host:this.host,phase:i,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");return{current:e.get("current")||null,generation:l(e.get("generation")??""),generationLink:/^system-\d+-link$/.test(e.get("generation")??"")?e.get("generation"):null,profile:e.get("profile")||null,bootId:e.get("boot")??"",systemd:e.get("systemd")==="yes",flock:e.get("flock")==="yes",hasWanted:e.get("has-wanted")==="yes",activatable:e.get("activatable")==="yes"}}async lock(s,i,e=""){const p=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",I,"nix-deploy",c,s,String(i),e],k=(0,w.kp)(this.session.sshArgv(this.remote,p.map(w.ZL).join(" ")),{timeoutMs:(i+60)*1e3,logger:this.logger}),E=await k.waitForLine(C=>C.startsWith("nix-deploy-lock-"),6e4);if(E==="nix-deploy-lock-acquired")return{state:this.parseProbe(k.lines,"lock"),release:async()=>{k.closeInput(),await Promise.race([k.done,new Promise(R=>setTimeout(R,5e3,null))])===null&&k.kill()}};k.kill();const P=await k.done,b={host:this.host,phase:"lock"};if(E?.startsWith("nix-deploy-lock-busy")){const C=E.slice(20).trim();throw(0,f.FT)({...b,kind:"busy"},`another deploy is running on this host${C?` (${C})`:""}; try again when it has finished`)}if(P.exitCode===r.M2)throw(0,f.FT)({...b,kind:"connection"},`could not connect: ${(0,r.eG)(P.stderr)}`);const H=P.stderr.trim().split(`
`).pop()??"";throw(0,f.FT)({...b,kind:"command",detail:P.stderr},`could not take the deploy lock${P.exitCode===127?" (flock is missing on the host)":H?`: ${H}`:""}`)}async armWatchdog(s,i,e,d,p,k){const E=[c,s,String(i),e??"",p,String(k),M,d??""];await this.script(m,E,"arm","arming the rollback watchdog")}async activate(s,i,e,d,p,k,E=""){const P=[c,s,i,e,d,String(p),E],b=await(0,r.mW)(this.session,this.remote,u,P,{timeoutMs:(p+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:k}),H=b.stdout.split(`
`).find(W=>W.startsWith("nix-deploy-profile ")),C=b.stdout.includes("nix-deploy-activation-started"),R=b.exitCode===r.M2||b.timedOut||C&&b.exitCode===null;return{exitCode:R?null:b.exitCode,output:b.stderr,connectionLost:R,profileLink:H?H.slice(19).trim():null}}async waitActivation(s,i){const e=await(0,r.mW)(this.session,this.remote,L,[c,s,"","","",String(i)],{timeoutMs:(i+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),d=e.exitCode===r.M2||e.timedOut;return{exitCode:d?null:e.exitCode,output:e.stderr,connectionLost:d}}heartbeatChannel(s,i,e){const p=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",O,"nix-deploy",c,s,String(i)];return(0,w.kp)(this.session.sshArgv(this.remote,p.map(w.ZL).join(" ")),{timeoutMs:e*1e3,logger:this.logger})}freshLogin(s){return(0,r.mW)(this.session,this.remote,"true",[],{timeoutMs:a,phase:s,what:"a new SSH connection to the host",privileged:!1,check:!1,fresh:!0,logger:this.logger})}async confirm(s){const i=await this.script(S,[c,s],"confirm","confirming the deployment",a,!1);if(i.exitCode===0)return"confirmed";if(i.exitCode===92)return"fired";throw(0,f.FT)({host:this.host,phase:"confirm",kind:i.exitCode===r.M2?"connection":"command"},i.exitCode===r.M2?`confirming failed: ${(0,r.eG)(i.stderr)}`:`confirming failed with exit code ${i.exitCode}`)}async disarm(s){const e=(await this.script(x,[c,s],"rollback","disarming the watchdog",10*a)).stdout.trim().split(`
`).pop()??"";return e.startsWith("fired")?{fired:!0,exit:e.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(s){const e=(await this.script(t,[c,s],"rollback","reading the watchdog",a)).stdout.split(`
`),d=(e.find(p=>p.startsWith("fired="))??"fired=no").slice(6);return{fired:d!=="no",exit:d==="no"?"":d,log:e.filter(p=>p.startsWith("log=")).map(p=>p.slice(4))}}async generations(s="resolve"){return(await this.script(n,[],s,"listing the system generations")).stdout.split(`
`).map(e=>/^(\d+) (\/\S+)$/.exec(e.trim())).filter(e=>e!==null).map(e=>({generation:Number(e[1]),storePath:e[2]})).sort((e,d)=>e.generation-d.generation)}async reboot(){await this.script($,[],"reboot","rebooting the host")}async waitForBoot(s,i){const e=Date.now()+i*1e3;for(;Date.now()<e;){await new Promise(d=>setTimeout(d,1e3));try{const d=await this.probe("","reboot");if(d.bootId&&d.bootId!==s)return d}catch{}}return null}}}),2426:((N,T,g)=>{g.d(T,{Fm:()=>U,UD:()=>x,zw:()=>v});var f=g(4296),w=g(6224),r=g(4294);const c=`cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`,y=`d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`;async function v(t,n={}){const $=await(0,w.g1)(`${t}#nixosConfigurations`,{apply:c,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating the hosts of '${t}'`});if($===void 0)throw new f.lZ(`The flake '${t}' has no nixosConfigurations output, so it has no hosts.`,{phase:"evaluate",input:"flake"});const a=await(0,w.g1)(`${t}#deploy`,{apply:y,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating deploy.nodes of '${t}'`});return Object.keys($).sort().map(l=>_(l,$[l],a))}function _(t,n,$){(0,r.Eo)(t,"A nixosConfigurations attribute name");const a=Array.isArray(n.tags)?n.tags:[];for(const l of a)if(!/^[A-Za-z0-9._-]{1,64}$/.test(l))throw new f.lZ(`Host ${t} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,{host:t,phase:"evaluate"});try{return M(t,n.system),{name:t,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:a,...I(t,n,$)}}catch(l){if(!(l instanceof f.lZ))throw l;return{name:t,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:a,target:null,targetError:l,targetSource:"",sshOptions:[]}}}function U(t){if(t.target)return t.target;throw t.targetError??new f.lZ(`Host ${t.name} has no SSH target.`,{host:t.name})}function I(t,n,$){const a=$?.nodes?.[t];let l,h,o=[];if(a?.hostname){h=`Host ${t}'s deploy.nodes.${t}.hostname`;const s=a.sshUser??$?.sshUser??null;l=(0,r.hu)(s?`${s}@${m(a.hostname)}`:m(a.hostname),h);const i=[...u($?.sshOpts),...u(a.sshOpts)];o=L(i,`deploy.nodes.${t}.sshOpts`,t);const e=o.indexOf("-p");e>=0&&(l={...l,port:Number(o[e+1])},o=[...o.slice(0,e),...o.slice(e+2)])}else if(n.targetHost){h=`Host ${t}'s config.deployment.targetHost`;let s=m(n.targetHost);n.targetUser&&(s=`${n.targetUser}@${s}`),n.targetPort&&(s=`${s}:${n.targetPort}`),l=(0,r.hu)(s,h)}else n.fqdn?(h=`Host ${t}'s config.networking.fqdn`,l=(0,r.hu)(n.fqdn,h)):n.hostName?(h=`Host ${t}'s config.networking.hostName`,l=(0,r.hu)(n.hostName,h)):(h=`Host ${t}'s attribute name`,l=(0,r.hu)(t,h));return{target:l,targetSource:h,sshOptions:o}}function M(t,n){if(!(n===null||/^[A-Za-z0-9_]{1,32}(?:-[A-Za-z0-9_]{1,32}){1,3}$/.test(n)))throw new f.lZ(`Host ${t}'s nixpkgs.hostPlatform.system is ${S(n)}, which is not a Nix system name such as x86_64-linux.`,{host:t,phase:"evaluate"})}function m(t){return t.includes(":")&&!t.startsWith("[")?`[${t}]`:t}function u(t){return Array.isArray(t)?t.filter(n=>typeof n=="string"):[]}const A=new Set(["port","connecttimeout","connectionattempts","serveraliveinterval","serveralivecountmax","compression","ipqos","addressfamily","tcpkeepalive"]);function L(t,n,$){const a=[],l=(h,o)=>{throw new f.lZ(`Host ${$}: ${n} contains the ssh option '${S(h)}', which is not allowed from flake data (${o}); pass it through the workflow's 'ssh-options' input instead.`,{host:$,phase:"evaluate"})};for(let h=0;h<t.length;h++){const o=t[h];if(o==="-4"||o==="-6"||o==="-C")a.push(o);else if(o==="-p"||o.startsWith("-p")){const s=o==="-p"?t[++h]:o.slice(2);(!s||!O(s))&&l(`${o} ${s??""}`.trim(),"the port must be a number from 1 to 65535"),a.push("-p",s)}else if(o==="-J"||o.startsWith("-J"))l(o,"a jump host would be reached without the pinned key and known hosts");else if(o==="-o"||o.startsWith("-o")){const s=o==="-o"?t[++h]:o.slice(2),i=/^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec(s??"");i||l(s??o,"expected -o Key=Value"),A.has(i[1].toLowerCase())||l(`-o${s}`,`'${i[1]}' can run commands, reach other hosts or weaken host key checking`),i[2].startsWith("-")&&l(`-o${s}`,"a value may not start with -"),i[1].toLowerCase()==="port"&&!O(i[2])&&l(`-o${s}`,"the port must be a number from 1 to 65535"),a.push("-o",`${i[1]}=${i[2]}`)}else l(o,"only -p, -4, -6, -C and a few -o options are accepted")}return a}function O(t){return/^[1-9][0-9]{0,4}$/.test(t)&&Number(t)<=65535}function S(t){const n=JSON.stringify(t).slice(1,-1);return n.length>60?`${n.slice(0,57)}...`:n}async function x(t,n,$={}){for(const o of n)(0,r.Eo)(o,`host '${o}'`);const l=`cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${`[ ${n.map(w.z7).join(" ")} ]`}))`;return await(0,w.g1)(`${t}#nixosConfigurations`,{apply:l,logger:$.logger,cwd:$.cwd,phase:$.phase??"evaluate",what:`evaluating the toplevel derivations of ${n.length} host(s) in '${t}'`})??{}}}),6228:((N,T,g)=>{g.d(T,{L:()=>w,a:()=>f});function f(r){if(r<1e3)return`${r} ms`;const c=r/1e3;if(c<60)return`${c.toFixed(1)} s`;const y=Math.floor(c/60);return`${y} min ${Math.round(c-y*60)} s`}function w(r,c,y=`${c}s`){return`${r} ${r===1?c:y}`}})};export{D as id,j as ids,F as modules};
